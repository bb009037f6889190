"""Every query of task templates and their dependencies, scoped to the actor."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import delete, exists, func, insert, select
from sqlalchemy.orm import Session

from supplytrack.core.db import AnySelect
from supplytrack.core.identity import Actor
from supplytrack.core.pagination import Sort
from supplytrack.core.repository import Repository
from supplytrack.suppliers.models import SupplierProject
from supplytrack.templates.models import TaskTemplate, TaskTemplateDependency

SORTABLE = {
    "id": TaskTemplate.id,
    "sequence": TaskTemplate.sequence,
    "canonicalDue": TaskTemplate.canonical_due,
    "name": TaskTemplate.name,
}


class TemplateRepository(Repository[TaskTemplate]):
    """Templates; a supplier sees those of projects it is assigned to."""

    model = TaskTemplate

    def __init__(self, session: Session, actor: Actor) -> None:
        super().__init__(session, actor)
        self.scope = actor

    def visible(self, stmt: AnySelect) -> AnySelect:
        """Narrow a query of templates to the actor's scope."""
        if self.scope.is_supplier:
            stmt = stmt.where(
                exists().where(
                    SupplierProject.project_id == TaskTemplate.project_id,
                    SupplierProject.supplier_id == self.scope.supplier_id,
                )
            )
        return stmt

    def of_project(
        self, project_id: int, *, sort: Sort, cursor: str | None, limit: int
    ) -> Sequence[TaskTemplate]:
        """A page of the project's templates (one more than ``limit``)."""
        return self.page(
            select(TaskTemplate).where(TaskTemplate.project_id == project_id), sort, cursor, limit
        )

    def by_name(self, project_id: int, name: str) -> TaskTemplate | None:
        """The visible template of a project with this name."""
        stmt = select(TaskTemplate).where(
            TaskTemplate.project_id == project_id, TaskTemplate.name == name
        )
        return self.session.scalars(self.visible(stmt)).first()

    def counts_by_project(self, project_ids: Sequence[int]) -> list[int]:
        """How many milestones each of the projects has."""
        stmt = (
            select(func.count())
            .select_from(TaskTemplate)
            .where(TaskTemplate.project_id.in_(list(project_ids)))
            .group_by(TaskTemplate.project_id)
        )
        return [int(count) for count in self.session.scalars(stmt)]

    def name_taken(self, project_id: int, name: str, *, except_id: int | None = None) -> bool:
        """Whether another template of the project has this name."""
        stmt = select(TaskTemplate.id).where(
            TaskTemplate.project_id == project_id, TaskTemplate.name == name
        )
        if except_id is not None:
            stmt = stmt.where(TaskTemplate.id != except_id)
        return self.session.scalars(stmt.limit(1)).first() is not None

    def ids_in_project(self, project_id: int, ids: Iterable[int]) -> set[int]:
        """Which of ``ids`` are templates of the project."""
        wanted = list(ids)
        if not wanted:
            return set()
        stmt = select(TaskTemplate.id).where(
            TaskTemplate.project_id == project_id, TaskTemplate.id.in_(wanted)
        )
        return set(self.session.scalars(stmt))

    def dependencies_of(self, template_ids: Iterable[int]) -> dict[int, list[int]]:
        """Prerequisites of several templates in one query."""
        ids = list(template_ids)
        found: dict[int, list[int]] = defaultdict(list)
        if not ids:
            return found
        rows = self.session.execute(
            select(TaskTemplateDependency.template_id, TaskTemplateDependency.depends_on_id)
            .where(TaskTemplateDependency.template_id.in_(ids))
            .order_by(TaskTemplateDependency.template_id, TaskTemplateDependency.depends_on_id)
        )
        for template_id, depends_on_id in rows:
            found[template_id].append(depends_on_id)
        return found

    def of_projects(self, project_ids: Iterable[int]) -> Sequence[TaskTemplate]:
        """Every template of several projects, in plan order, in one query."""
        ids = list(project_ids)
        if not ids:
            return []
        stmt = (
            select(TaskTemplate)
            .where(TaskTemplate.project_id.in_(ids))
            .order_by(TaskTemplate.project_id, TaskTemplate.sequence, TaskTemplate.id)
        )
        return self.session.scalars(stmt).all()

    def replace_dependencies(self, template: TaskTemplate, prerequisites: Sequence[int]) -> None:
        """Make the template depend on exactly ``prerequisites``."""
        self.session.execute(
            delete(TaskTemplateDependency).where(TaskTemplateDependency.template_id == template.id)
        )
        if prerequisites:
            self.session.execute(
                insert(TaskTemplateDependency),
                [
                    {
                        "template_id": template.id,
                        "depends_on_id": prerequisite,
                        "project_id": template.project_id,
                    }
                    for prerequisite in prerequisites
                ],
            )

    def dependents_of(self, template_id: int) -> list[int]:
        """Templates that depend directly on this one."""
        stmt = select(TaskTemplateDependency.template_id).where(
            TaskTemplateDependency.depends_on_id == template_id
        )
        return sorted(self.session.scalars(stmt))

    def delete(self, template: TaskTemplate) -> None:
        """Delete a template and its prerequisite links (its instances are gone already)."""
        self.session.execute(
            delete(TaskTemplateDependency).where(TaskTemplateDependency.template_id == template.id),
            execution_options={"synchronize_session": False},
        )
        self.session.delete(template)
        self.session.flush()

    def delete_of_project(self, project_id: int) -> None:
        """Delete every template of a project and their links (instances are gone already)."""
        for stmt in (
            delete(TaskTemplateDependency).where(TaskTemplateDependency.project_id == project_id),
            delete(TaskTemplate).where(TaskTemplate.project_id == project_id),
        ):
            self.session.execute(stmt, execution_options={"synchronize_session": False})
