"""Every query of task templates and their dependencies, scoped to the actor."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import delete, exists, insert, select

from supplytrack.audit.models import TaskInstanceHistory
from supplytrack.core.db import AnySelect
from supplytrack.core.pagination import Sort, apply_keyset
from supplytrack.core.repository import Repository
from supplytrack.suppliers.models import SupplierProject
from supplytrack.tasks.enums import TaskStatus
from supplytrack.tasks.models import TaskInstance
from supplytrack.templates.models import TaskTemplate, TaskTemplateDependency

SORTABLE = {
    "id": TaskTemplate.id,
    "sequence": TaskTemplate.sequence,
    "canonicalDue": TaskTemplate.canonical_due,
    "name": TaskTemplate.name,
}


class TemplateRepository(Repository):
    """Templates; a supplier sees those of projects it is assigned to."""

    def visible(self, stmt: AnySelect) -> AnySelect:
        """Narrow a query of templates to the actor's scope."""
        if self.actor.is_supplier:
            stmt = stmt.where(
                exists().where(
                    SupplierProject.project_id == TaskTemplate.project_id,
                    SupplierProject.supplier_id == self.actor.supplier_id,
                )
            )
        return stmt

    def get(self, template_id: int, *, for_update: bool = False) -> TaskTemplate | None:
        """One visible template."""
        stmt = self.visible(select(TaskTemplate).where(TaskTemplate.id == template_id))
        if for_update:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def page(
        self, project_id: int, *, sort: Sort, cursor: str | None, limit: int
    ) -> Sequence[TaskTemplate]:
        """A page of the project's templates (one more than ``limit``)."""
        stmt = self.visible(select(TaskTemplate).where(TaskTemplate.project_id == project_id))
        return self.session.scalars(apply_keyset(stmt, sort, cursor, limit)).all()

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

    def add(self, template: TaskTemplate) -> TaskTemplate:
        """Insert a template."""
        self.session.add(template)
        self.session.flush()
        return template

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

    def project_graph(self, project_id: int) -> dict[int, list[int]]:
        """The whole dependency graph of a project: template id -> prerequisite ids."""
        graph: dict[int, list[int]] = {
            template_id: []
            for template_id in self.session.scalars(
                select(TaskTemplate.id).where(TaskTemplate.project_id == project_id)
            )
        }
        rows = self.session.execute(
            select(TaskTemplateDependency.template_id, TaskTemplateDependency.depends_on_id).where(
                TaskTemplateDependency.project_id == project_id
            )
        )
        for template_id, depends_on_id in rows:
            graph.setdefault(template_id, []).append(depends_on_id)
        return graph

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

    def project_dates(self, project_id: int) -> dict[int, date]:
        """Planned date of every template of a project."""
        stmt = select(TaskTemplate.id, TaskTemplate.canonical_due).where(
            TaskTemplate.project_id == project_id
        )
        return {row.id: row.canonical_due for row in self.session.execute(stmt)}

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

    def has_instances(self, template_id: int) -> bool:
        """Whether the template was fanned out to anyone."""
        stmt = select(exists().where(TaskInstance.task_template_id == template_id))
        return bool(self.session.scalar(stmt))

    def has_history(self, template_id: int) -> bool:
        """Whether any of its instances left NOT_STARTED or has an audit row."""
        started = exists().where(
            TaskInstance.task_template_id == template_id,
            TaskInstance.status != TaskStatus.NOT_STARTED,
        )
        audited = exists().where(
            TaskInstanceHistory.task_instance_id == TaskInstance.id,
            TaskInstance.task_template_id == template_id,
        )
        return bool(self.session.scalar(select(started | audited)))

    def delete(self, template: TaskTemplate) -> None:
        """Delete a template without history, with its untouched instances."""
        for stmt in (
            delete(TaskInstance).where(TaskInstance.task_template_id == template.id),
            delete(TaskTemplateDependency).where(TaskTemplateDependency.template_id == template.id),
        ):
            self.session.execute(stmt, execution_options={"synchronize_session": False})
        self.session.delete(template)
        self.session.flush()
