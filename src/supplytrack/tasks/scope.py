"""Which task instances an actor may see: the one predicate every read of instances applies.

Lists, single reads, the asOf view, reports and exports all narrow their queries with
:func:`visible_instances`, so a supplier token sees its own supplier's instances and nothing
else, whichever path it reads by.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, true

from supplytrack.core.db import AnySelect
from supplytrack.core.identity import Actor
from supplytrack.tasks.models import TaskInstance


def visible_instances(actor: Actor) -> ColumnElement[bool]:
    """The condition on ``task_instances`` rows that ``actor`` may see."""
    if actor.is_supplier:
        return TaskInstance.supplier_id == actor.supplier_id
    return true()


def scoped(stmt: AnySelect, actor: Actor) -> AnySelect:
    """``stmt`` narrowed to the instances ``actor`` may see (unchanged for staff)."""
    if actor.is_supplier:
        return stmt.where(visible_instances(actor))
    return stmt
