"""Every query of the projects table, scoped to what the actor may see."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from supplytrack.core.db import AnySelect
from supplytrack.core.identity import Actor
from supplytrack.core.pagination import Sort
from supplytrack.core.repository import Repository, contains_pattern
from supplytrack.projects.models import Project, ProjectStatus
from supplytrack.projects.scope import visible_projects

SORTABLE = {
    "id": Project.id,
    "code": Project.code,
    "name": Project.name,
    "createdAt": Project.created_at,
    "updatedAt": Project.updated_at,
}


class ProjectRepository(Repository[Project]):
    """Projects; a supplier sees only the projects it is assigned to."""

    model = Project

    def __init__(self, session: Session, actor: Actor) -> None:
        super().__init__(session, actor)
        self.scope = actor

    def visible(self, stmt: AnySelect) -> AnySelect:
        """Narrow a query of projects to the actor's scope."""
        if self.scope.is_supplier:
            stmt = stmt.where(visible_projects(self.scope))
        return stmt

    def search(
        self,
        *,
        status: ProjectStatus | None,
        search: str | None,
        sort: Sort,
        cursor: str | None,
        limit: int,
    ) -> Sequence[Project]:
        """A page of visible projects."""
        stmt = select(Project)
        if status is not None:
            stmt = stmt.where(Project.status == status)
        if search:
            pattern = contains_pattern(search)
            stmt = stmt.where(
                Project.code.ilike(pattern, escape="\\") | Project.name.ilike(pattern, escape="\\")
            )
        return self.page(stmt, sort, cursor, limit)

    def visible_ids(self) -> list[int]:
        """Ids of every visible project."""
        return list(self.session.scalars(self.visible(select(Project.id)).order_by(Project.id)))

    def many(self, project_ids: Sequence[int]) -> Sequence[Project]:
        """Visible projects by id."""
        if not project_ids:
            return []
        stmt = self.visible(select(Project).where(Project.id.in_(list(project_ids))))
        return self.session.scalars(stmt.order_by(Project.id)).all()

    def id_by_code(self, code: str) -> int | None:
        """The id of the visible project with this code."""
        return self.session.scalars(
            self.visible(select(Project.id).where(Project.code == code))
        ).first()

    def code_taken(self, code: str, *, except_id: int | None = None) -> bool:
        """Whether another project has this code, in any case (unscoped: codes are global)."""
        stmt = select(Project.id).where(Project.code_key == code.strip().lower())
        if except_id is not None:
            stmt = stmt.where(Project.id != except_id)
        return self.session.scalars(stmt.limit(1)).first() is not None

    def delete(self, project: Project) -> None:
        """Delete a project row (what it owned is gone already)."""
        self.session.delete(project)
        self.session.flush()
