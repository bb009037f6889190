"""Every query of the projects table, scoped to what the actor may see."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, exists, select

from supplytrack.audit.models import TaskInstanceHistory
from supplytrack.core.db import AnySelect
from supplytrack.core.pagination import Sort, apply_keyset
from supplytrack.core.repository import Repository, contains_pattern
from supplytrack.projects.models import Project, ProjectStatus
from supplytrack.suppliers.models import SupplierProject
from supplytrack.tasks.enums import TaskStatus
from supplytrack.tasks.models import TaskInstance
from supplytrack.templates.models import TaskTemplate, TaskTemplateDependency

SORTABLE = {
    "id": Project.id,
    "code": Project.code,
    "name": Project.name,
    "createdAt": Project.created_at,
    "updatedAt": Project.updated_at,
}


class ProjectRepository(Repository):
    """Projects; a supplier sees only the projects it is assigned to."""

    def visible(self, stmt: AnySelect) -> AnySelect:
        """Narrow a query of projects to the actor's scope."""
        if self.actor.is_supplier:
            stmt = stmt.where(
                exists().where(
                    SupplierProject.project_id == Project.id,
                    SupplierProject.supplier_id == self.actor.supplier_id,
                )
            )
        return stmt

    def get(self, project_id: int, *, for_update: bool = False) -> Project | None:
        """One visible project (locked for update on PostgreSQL when asked)."""
        stmt = self.visible(select(Project).where(Project.id == project_id))
        if for_update:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def page(
        self,
        *,
        status: ProjectStatus | None,
        search: str | None,
        sort: Sort,
        cursor: str | None,
        limit: int,
    ) -> Sequence[Project]:
        """A page of visible projects."""
        stmt = self.visible(select(Project))
        if status is not None:
            stmt = stmt.where(Project.status == status)
        if search:
            pattern = contains_pattern(search)
            stmt = stmt.where(
                Project.code.ilike(pattern, escape="\\") | Project.name.ilike(pattern, escape="\\")
            )
        return self.session.scalars(apply_keyset(stmt, sort, cursor, limit)).all()

    def visible_ids(self) -> list[int]:
        """Ids of every visible project."""
        return list(self.session.scalars(self.visible(select(Project.id)).order_by(Project.id)))

    def many(self, project_ids: Sequence[int]) -> Sequence[Project]:
        """Visible projects by id."""
        if not project_ids:
            return []
        stmt = self.visible(select(Project).where(Project.id.in_(list(project_ids))))
        return self.session.scalars(stmt.order_by(Project.id)).all()

    def code_taken(self, code: str, *, except_id: int | None = None) -> bool:
        """Whether another project has this code (unscoped: codes are globally unique)."""
        stmt = select(Project.id).where(Project.code == code)
        if except_id is not None:
            stmt = stmt.where(Project.id != except_id)
        return self.session.scalars(stmt.limit(1)).first() is not None

    def add(self, project: Project) -> Project:
        """Insert a project."""
        self.session.add(project)
        self.session.flush()
        return project

    def has_history(self, project_id: int) -> bool:
        """Whether any instance of the project left NOT_STARTED or has an audit row."""
        started = exists().where(
            TaskInstance.project_id == project_id, TaskInstance.status != TaskStatus.NOT_STARTED
        )
        audited = exists().where(
            TaskInstanceHistory.task_instance_id == TaskInstance.id,
            TaskInstance.project_id == project_id,
        )
        return bool(self.session.scalar(select(started | audited)))

    def delete(self, project: Project) -> None:
        """Delete a project that has no history, with what it owns (instances first)."""
        project_id = project.id
        for stmt in (
            delete(TaskInstance).where(TaskInstance.project_id == project_id),
            delete(TaskTemplateDependency).where(TaskTemplateDependency.project_id == project_id),
            delete(TaskTemplate).where(TaskTemplate.project_id == project_id),
            delete(SupplierProject).where(SupplierProject.project_id == project_id),
        ):
            self.session.execute(stmt, execution_options={"synchronize_session": False})
        self.session.delete(project)
        self.session.flush()
