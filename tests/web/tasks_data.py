"""Hand-built data of the task pages' tests: one project, two suppliers, two milestones."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from supplytrack.audit.models import TaskInstanceHistory
from supplytrack.core.identity import Role
from supplytrack.projects.models import Project
from supplytrack.suppliers.models import Supplier
from supplytrack.tasks.models import TaskInstance
from supplytrack.templates.models import TaskTemplate
from tests.fixtures.auth import Caller, make_caller
from tests.fixtures.factories import Factory, days


@dataclass
class Plan:
    """Project P: milestones M1 (due +30) and M2 (after M1, due +40), suppliers A and B."""

    project: Project
    a: Supplier
    b: Supplier
    m1: TaskTemplate
    m2: TaskTemplate
    ids: dict[str, int]  # "a1", "a2", "b1", "b2": supplier x milestone
    supplier_a: Caller
    supplier_b: Caller


def build(session: Session) -> Plan:
    """The plan, with b1 made overdue (due 3 days ago)."""
    factory = Factory(session)
    project = factory.project(code="TP-1", name="Tasks <program>", sop_date=days(200))
    a = factory.supplier(code="SUP-A", name="Alpha Castings")
    b = factory.supplier(code="SUP-B", name="Beta Plastics")
    factory.assign(project, a)
    factory.assign(project, b)
    m1 = factory.template(project, name="PPAP <first>", canonical_due=days(30))
    m2 = factory.template(project, depends_on=(m1.id,), name="Run at rate", canonical_due=days(40))
    ids: dict[str, int] = {}
    for key, supplier in (("a", a), ("b", b)):
        for number, template in (("1", m1), ("2", m2)):
            ids[key + number] = session.scalars(
                select(TaskInstance.id).where(
                    TaskInstance.supplier_id == supplier.id,
                    TaskInstance.task_template_id == template.id,
                )
            ).one()
    set_due(session, ids["b1"], days(-3))
    return Plan(
        project,
        a,
        b,
        m1,
        m2,
        ids,
        make_caller(session, Role.SUPPLIER, a.id),
        make_caller(session, Role.SUPPLIER, b.id),
    )


def set_due(session: Session, instance_id: int, due: date) -> None:
    """Put an instance's due date somewhere (arranging data, not an audited change)."""
    session.execute(
        update(TaskInstance).where(TaskInstance.id == instance_id).values(actual_due=due)
    )
    session.flush()


def instance(session: Session, instance_id: int) -> TaskInstance:
    """An instance as the database has it now."""
    session.expire_all()
    return session.get_one(TaskInstance, instance_id)


def history(session: Session, instance_id: int | None = None) -> list[TaskInstanceHistory]:
    """History rows (of one instance, or all), oldest first."""
    session.expire_all()
    stmt = select(TaskInstanceHistory).order_by(TaskInstanceHistory.id)
    if instance_id is not None:
        stmt = stmt.where(TaskInstanceHistory.task_instance_id == instance_id)
    return list(session.scalars(stmt))


def snapshot(session: Session) -> list[tuple[Any, ...]]:
    """Every instance's state and the history's size: to prove that nothing changed."""
    session.expire_all()
    rows = session.execute(
        select(
            TaskInstance.id,
            TaskInstance.status,
            TaskInstance.actual_due,
            TaskInstance.notes,
            TaskInstance.version,
        ).order_by(TaskInstance.id)
    ).all()
    return [tuple(row) for row in rows] + [("history", len(history(session)))]


def words(markup: str) -> str:
    """The text of some HTML, tags removed and spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", markup).split())


def buttons(html: str, action: str) -> list[str]:
    """The values of the submit buttons of the form posting to ``action``."""
    found = re.search(
        r'<form method="post" action="' + re.escape(action) + r'".*?</form>', html, re.S
    )
    if found is None:
        return []
    return re.findall(r'<button type="submit" name="status" value="([A-Z_]+)"', found.group(0))
