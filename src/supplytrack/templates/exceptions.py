"""Errors of the templates domain."""

from __future__ import annotations

from collections.abc import Sequence

from supplytrack.core.errors import BusinessRuleError, Conflict


class TemplateNameTaken(Conflict):
    """Another milestone of the project has this name."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"the project already has a milestone named {name!r}", code="DUPLICATE_NAME"
        )


class DependencyOutsideProject(BusinessRuleError):
    """dependsOn names templates that are not of this project."""

    def __init__(self, missing: Sequence[int]) -> None:
        super().__init__(
            "dependsOn must name templates of the same project",
            code="DEPENDENCY_NOT_IN_PROJECT",
            details=[{"templateId": template_id} for template_id in missing],
        )


class TemplateHasHistory(Conflict):
    """Work was recorded against the template: it cannot be deleted."""

    def __init__(self, template_id: int) -> None:
        super().__init__(
            f"template {template_id} has task instances with history; it cannot be deleted"
            " (waive its instances, or archive the project)",
            code="HAS_HISTORY",
            details=[{"alternative": "archive the project or waive the instances"}],
        )


class TemplateHasDependents(Conflict):
    """Other templates depend on this one."""

    def __init__(self, template_id: int, dependents: Sequence[int]) -> None:
        super().__init__(
            f"templates {', '.join(map(str, dependents))} depend on template {template_id};"
            " remove those dependencies first",
            code="HAS_DEPENDENTS",
            details=[{"templateId": dependent} for dependent in dependents],
        )


class CapabilityLocked(Conflict):
    """requiredCapability cannot change once instances were fanned out."""

    def __init__(self, template_id: int) -> None:
        super().__init__(
            f"template {template_id} already has task instances; its requiredCapability"
            " cannot change (create a new milestone instead)",
            code="CAPABILITY_LOCKED",
        )
