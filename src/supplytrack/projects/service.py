"""The rules of projects that need nothing but projects (a leaf of the domain layer)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy.orm import Session

from supplytrack.audit.models import AuditEntity
from supplytrack.audit.service import AuditService, record_of
from supplytrack.core.errors import NotFound
from supplytrack.core.http import check_version
from supplytrack.core.identity import Actor
from supplytrack.core.pagination import Sort
from supplytrack.core.repository import assign
from supplytrack.core.schemas import changes_of
from supplytrack.core.time import utcnow
from supplytrack.projects.exceptions import (
    ProjectClosed,
    ProjectCodeTaken,
    ProjectWindowInvalid,
)
from supplytrack.projects.models import CLOSED_PROJECT_STATUSES, Project, ProjectStatus
from supplytrack.projects.repository import ProjectRepository
from supplytrack.projects.schemas import ProjectCreate, ProjectUpdate


class ProjectService:
    """Create, read, change and delete projects."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor
        self.projects = ProjectRepository(session, actor)
        self.audit = AuditService(session, actor)

    def get(self, project_id: int, *, for_update: bool = False) -> Project:
        """A project the actor may see (404 otherwise, whether missing or not visible)."""
        project = self.projects.get(project_id, for_update=for_update)
        if project is None:
            raise NotFound("project", project_id)
        return project

    def require_open(self, project_id: int, *, for_update: bool = False) -> Project:
        """A visible project that still takes new work (not COMPLETED or ARCHIVED)."""
        project = self.get(project_id, for_update=for_update)
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
        return self.projects.search(
            status=status, search=search, sort=sort, cursor=cursor, limit=limit
        )

    def id_by_code(self, code: str) -> int | None:
        """The id of the visible project with this code, if any."""
        return self.projects.id_by_code(code)

    def visible_ids(self) -> list[int]:
        """Ids of every project the actor may see, in id order."""
        return self.projects.visible_ids()

    def many(self, project_ids: Sequence[int]) -> Sequence[Project]:
        """Visible projects by id, in id order (one query)."""
        return self.projects.many(project_ids)

    def create(self, command: ProjectCreate) -> Project:
        """Create a project with a unique code."""
        if self.projects.code_taken(command.code):
            raise ProjectCodeTaken(command.code)
        project = Project(**command.model_dump())
        if project.status in CLOSED_PROJECT_STATUSES:
            project.closed_at = utcnow()
        self.projects.add(project)
        self.audit.created(AuditEntity.PROJECT, project.id, record_of(project))
        return project

    def window_after(
        self, project: Project, command: ProjectUpdate
    ) -> tuple[date | None, date | None]:
        """The project's start..SOP window once ``command`` is applied (refused if inverted)."""
        given = command.model_fields_set
        start = command.start_date if "start_date" in given else project.start_date
        sop = command.sop_date if "sop_date" in given else project.sop_date
        if start is not None and sop is not None and sop < start:
            raise ProjectWindowInvalid
        return start, sop

    def update(self, project: Project, command: ProjectUpdate) -> list[str]:
        """Apply a checked partial change (one UPDATE); the names of the fields that changed."""
        code = command.code if "code" in command.model_fields_set else None
        if code is not None and self.projects.code_taken(code, except_id=project.id):
            raise ProjectCodeTaken(code)
        self.window_after(project, command)
        before = record_of(project)
        was_closed = project.status in CLOSED_PROJECT_STATUSES
        changed = assign(project, changes_of(command))
        closed = project.status in CLOSED_PROJECT_STATUSES
        if closed != was_closed:
            # Retention counts from the last closing; reopening stops the clock (flows/retention).
            project.closed_at = utcnow() if closed else None
        if changed:
            self.projects.flush()
            self.audit.changed(AuditEntity.PROJECT, project.id, before, record_of(project))
        return changed

    def check_version(self, project: Project, expected_version: int | None) -> None:
        """412 when If-Match no longer names the project's version."""
        check_version(project.version, expected_version, f"project {project.id}")

    def delete(self, project: Project) -> None:
        """Delete the project row (the flow checked for work and removed what it owns)."""
        self.audit.deleted(AuditEntity.PROJECT, project.id, record_of(project))
        self.projects.delete(project)
