"""Every query of task instances, scoped to the actor (a supplier sees only its own)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    delete,
    exists,
    not_,
    select,
)
from sqlalchemy.orm import Session, aliased

from supplytrack.audit.models import TaskInstanceHistory
from supplytrack.core.db import AnyRow, AnySelect, id_in
from supplytrack.core.identity import Actor
from supplytrack.core.pagination import Sort, decode_cursor
from supplytrack.core.repository import Repository
from supplytrack.tasks.derived import overdue_condition
from supplytrack.tasks.enums import DONE_STATUSES, TaskStatus
from supplytrack.tasks.models import TaskInstance
from supplytrack.tasks.reads import SORT_COLUMNS, list_query, list_statement, one_statement
from supplytrack.tasks.scope import scoped
from supplytrack.templates.models import TaskTemplateDependency

T = TaskInstance
SORTABLE = SORT_COLUMNS


@dataclass(frozen=True, slots=True)
class OwnedBy:
    """The instances of a project, a supplier or a milestone (the one being deleted)."""

    project_id: int | None = None
    supplier_id: int | None = None
    template_id: int | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        """The instances' conditions (at least one owner is given)."""
        found = [
            column == value
            for column, value in (
                (T.project_id, self.project_id),
                (T.supplier_id, self.supplier_id),
                (T.task_template_id, self.template_id),
            )
            if value is not None
        ]
        assert found, "an owner needs a project, supplier or milestone"
        return found


@dataclass(frozen=True, slots=True)
class TaskFilter:
    """The filters of the instance list (SPEC section 3)."""

    project_id: int | None = None
    supplier_id: int | None = None
    supplier_project_id: int | None = None
    task_template_id: int | None = None
    statuses: tuple[TaskStatus, ...] = ()
    overdue: bool | None = None
    due_before: date | None = None
    due_after: date | None = None


class TaskRepository(Repository[TaskInstance]):
    """Task instances, always narrowed to what the actor may see."""

    model = TaskInstance

    def __init__(self, session: Session, actor: Actor) -> None:
        super().__init__(session, actor)
        self.scope = actor

    def visible(self, stmt: AnySelect) -> AnySelect:
        """Narrow a query of instances to the actor's scope."""
        return scoped(stmt, self.scope)

    @property
    def _scope_supplier(self) -> int | None:
        return self.scope.supplier_id if self.scope.is_supplier else None

    def read(self, instance_id: int, today: date) -> AnyRow | None:
        """One visible instance as a read row (with ``overdue`` and ``at_risk``)."""
        supplier_id = self._scope_supplier
        params: dict[str, Any] = {"q_instance_id": instance_id, "q_today": today}
        if supplier_id is not None:
            params["q_scope_supplier_id"] = supplier_id
        return self.core().execute(one_statement(supplier_id is not None), params).first()

    def page_rows(
        self, where: TaskFilter, today: date, *, sort: Sort, cursor: str | None, limit: int
    ) -> Sequence[AnyRow]:
        """A page of visible instances matching the filter (one more than ``limit``)."""
        after = decode_cursor(cursor, sort) if cursor is not None else None
        query = list_query(
            where,
            today,
            sort,
            after,
            limit,
            supplier_id=self._scope_supplier,
            sqlite=self.dialect == "sqlite",
        )
        return self.core().execute(list_statement(query.shape), query.params).all()

    def of(
        self, supplier_project_id: int, task_template_id: int, *, for_update: bool = False
    ) -> TaskInstance | None:
        """The visible instance of an assignment's milestone."""
        stmt = self.visible(
            select(T).where(
                T.supplier_project_id == supplier_project_id,
                T.task_template_id == task_template_id,
            )
        )
        if for_update:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def exists_for(self, supplier_project_id: int, task_template_id: int) -> bool:
        """Whether the assignment already has an instance of the template."""
        stmt = select(
            exists().where(
                T.supplier_project_id == supplier_project_id, T.task_template_id == task_template_id
            )
        )
        return bool(self.session.scalar(stmt))

    def has_history(self, instance_id: int) -> bool:
        """Whether the instance has any audit row."""
        stmt = select(exists().where(TaskInstanceHistory.task_instance_id == instance_id))
        return bool(self.session.scalar(stmt))

    def delete(self, instance: TaskInstance) -> None:
        """Delete one untouched instance."""
        self.session.delete(instance)
        self.session.flush()

    def unfinished_prerequisites(self, ids: Sequence[int]) -> Sequence[AnyRow]:
        """(dependent_id, id, task_template_id, status) of prerequisites not done, by dependent.

        A prerequisite of an instance is its supplier's instance of a milestone the
        instance's milestone depends on.
        """
        P = aliased(TaskInstance)  # noqa: N806 - the prerequisite instance
        stmt = (
            select(T.id, P.id, P.task_template_id, P.status)
            .join(TaskTemplateDependency, TaskTemplateDependency.template_id == T.task_template_id)
            .join(
                P,
                (P.task_template_id == TaskTemplateDependency.depends_on_id)
                & (P.supplier_project_id == T.supplier_project_id),
            )
            .where(id_in(T.id, ids, self.dialect), P.status.not_in(sorted(DONE_STATUSES)))
            .order_by(T.id, P.id)
        )
        return self.core().execute(stmt).all()

    # Cross-domain questions, answered from this domain's own table ---------------------

    def work_recorded(self, owner: OwnedBy) -> bool:
        """Whether any of the owner's instances left NOT_STARTED or has history.

        Nothing with history is hard-deleted (SPEC section 2): the owners ask this first.
        """
        narrowed = owner.conditions()
        started = exists().where(*narrowed, T.status != TaskStatus.NOT_STARTED)
        audited = exists().where(*narrowed, TaskInstanceHistory.task_instance_id == T.id)
        return bool(self.session.scalar(select(started | audited)))

    def any_of_template(self, template_id: int) -> bool:
        """Whether the milestone was fanned out to anyone."""
        return bool(self.session.scalar(select(exists().where(T.task_template_id == template_id))))

    def delete_untouched(self, owner: OwnedBy) -> None:
        """Delete the owner's (untouched: the caller checked) instances."""
        self.session.execute(
            delete(T).where(*owner.conditions()), execution_options={"synchronize_session": False}
        )


def id_conditions(where: TaskFilter) -> list[ColumnElement[bool]]:
    """The conditions of a TaskFilter on the instance's own ids (project, supplier, ...)."""
    return [
        column == value
        for column, value in (
            (T.project_id, where.project_id),
            (T.supplier_id, where.supplier_id),
            (T.supplier_project_id, where.supplier_project_id),
            (T.task_template_id, where.task_template_id),
        )
        if value is not None
    ]


def conditions(where: TaskFilter, today: date) -> list[ColumnElement[bool]]:
    """The SQL conditions of a TaskFilter."""
    found = id_conditions(where)
    if where.statuses:
        found.append(T.status.in_(where.statuses))
    if where.overdue is not None:
        overdue = overdue_condition(today)
        found.append(overdue if where.overdue else not_(overdue))
    if where.due_before is not None:
        found.append(T.actual_due < where.due_before)
    if where.due_after is not None:
        found.append(T.actual_due > where.due_after)
    return found
