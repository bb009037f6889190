"""The rules of projects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session

from supplytrack.auth.actor import Actor
from supplytrack.core.errors import NotFound
from supplytrack.core.http import check_version
from supplytrack.core.pagination import Sort
from supplytrack.core.repository import assign
from supplytrack.projects.exceptions import (
    ProjectClosed,
    ProjectCodeTaken,
    ProjectHasHistory,
    ProjectWindowInvalid,
)
from supplytrack.projects.models import CLOSED_PROJECT_STATUSES, Project, ProjectStatus
from supplytrack.projects.repository import ProjectRepository


class ProjectService:
    """Create, read, change and delete projects."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor
        self.projects = ProjectRepository(session, actor)

    def get(self, project_id: int, *, for_update: bool = False) -> Project:
        """A project the actor may see (404 otherwise, whether missing or not visible)."""
        project = self.projects.get(project_id, for_update=for_update)
        if project is None:
            raise NotFound("project", project_id)
        return project

    def require_open(self, project_id: int) -> Project:
        """A visible project that still takes new work (not COMPLETED or ARCHIVED)."""
        project = self.get(project_id)
        if project.status in CLOSED_PROJECT_STATUSES:
            raise ProjectClosed(project_id, project.status)
        return project

    def page(
        self,
        *,
        status: ProjectStatus | None,
        search: str | None,
        sort: Sort,
        cursor: str | None,
        limit: int,
    ) -> Sequence[Project]:
        """A page of projects (one row more than ``limit``)."""
        return self.projects.page(
            status=status, search=search, sort=sort, cursor=cursor, limit=limit
        )

    def visible_ids(self) -> list[int]:
        """Ids of every project the actor may see, in id order."""
        return self.projects.visible_ids()

    def many(self, project_ids: Sequence[int]) -> Sequence[Project]:
        """Visible projects by id, in id order (one query)."""
        return self.projects.many(project_ids)

    def create(self, fields: Mapping[str, object]) -> Project:
        """Create a project with a unique code."""
        code = str(fields["code"])
        if self.projects.code_taken(code):
            raise ProjectCodeTaken(code)
        return self.projects.add(Project(**fields))

    def update(
        self, project_id: int, changes: Mapping[str, object], expected_version: int | None
    ) -> Project:
        """Change the given fields of a project (412 when If-Match is stale)."""
        project = self.get(project_id, for_update=True)
        check_version(project.version, expected_version, f"project {project_id}")
        code = changes.get("code")
        if isinstance(code, str) and self.projects.code_taken(code, except_id=project_id):
            raise ProjectCodeTaken(code)
        changed = assign(project, changes)
        if changed:
            start, sop = project.start_date, project.sop_date
            if start is not None and sop is not None and sop < start:
                raise ProjectWindowInvalid
            if {"start_date", "sop_date"} & set(changed):
                # Imported here: templates depend on projects, not the other way round.
                from supplytrack.templates.service import TemplateService  # noqa: PLC0415

                TemplateService(self.session, self.actor).outside_window(project)
            self.projects.flush()
        return project

    def delete(self, project_id: int, expected_version: int | None) -> None:
        """Delete a project on which no work has been recorded (409 otherwise)."""
        project = self.get(project_id, for_update=True)
        check_version(project.version, expected_version, f"project {project_id}")
        if self.projects.has_history(project_id):
            raise ProjectHasHistory(project_id)
        self.projects.delete(project)
