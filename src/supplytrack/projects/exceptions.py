"""Errors of the projects domain."""

from __future__ import annotations

from supplytrack.core.errors import BusinessRuleError, Conflict


class ProjectCodeTaken(Conflict):
    """Another project already has this code."""

    def __init__(self, code: str) -> None:
        super().__init__(f"a project with code {code!r} already exists", code="DUPLICATE_CODE")


class ProjectHasHistory(Conflict):
    """Work has started on the project: it can be archived, not deleted."""

    def __init__(self, project_id: int) -> None:
        super().__init__(
            f"project {project_id} has task instances with history; archive it instead"
            " (PATCH status=ARCHIVED)",
            code="HAS_HISTORY",
            details=[{"alternative": 'PATCH /api/projects/{id} {"status": "ARCHIVED"}'}],
        )


class ProjectWindowInvalid(BusinessRuleError):
    """sopDate before startDate after a partial update."""

    def __init__(self) -> None:
        super().__init__("sopDate must not be before startDate", code="INVALID_PROJECT_WINDOW")


class ProjectClosed(Conflict):
    """COMPLETED and ARCHIVED projects take no new assignments or templates."""

    def __init__(self, project_id: int, status: str) -> None:
        super().__init__(
            f"project {project_id} is {status}; it takes no new assignments or milestones",
            code="PROJECT_CLOSED",
        )
