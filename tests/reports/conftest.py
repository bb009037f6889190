"""A hand-built data set where every report figure is known in advance."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from supplytrack.audit.models import TaskInstanceHistory
from supplytrack.core.time import today
from supplytrack.projects.models import Project
from supplytrack.suppliers.models import Supplier, SupplierProject
from supplytrack.tasks.models import TaskInstance
from supplytrack.templates.models import TaskTemplate

NOW = datetime.now(UTC)


def day(offset: int) -> date:
    return today() + timedelta(days=offset)


def at(offset: int, clock: time = time(12)) -> datetime:
    return datetime.combine(day(offset), clock, tzinfo=UTC)


@dataclass
class Known:
    project: Project
    s1: Supplier
    s2: Supplier
    s3: Supplier
    instances: dict[str, int]


# name: (due offset, status, submitted_at, completed_at, supplier)
ROWS: dict[str, tuple[int, str, datetime | None, datetime | None, str]] = {
    "a": (-30, "APPROVED", at(-31), at(-29), "s1"),  # on time, first pass
    "b": (-30, "APPROVED", at(-25), at(-20), "s1"),  # 5 days late, rejected twice
    "c": (-20, "APPROVED", at(-10), at(-9), "s1"),  # 10 days late, first pass
    "d": (-10, "IN_PROGRESS", None, None, "s1"),  # overdue 10 days
    "e": (0, "NOT_STARTED", None, None, "s1"),  # due today: not overdue
    "f": (-5, "WAIVED", None, at(-6), "s1"),  # waived: not a task due
    "g": (-15, "SUBMITTED", at(-15, time(23, 59, 59)), None, "s1"),  # last second: on time
    "h": (-15, "SUBMITTED", at(-14, time(0, 0, 1)), None, "s1"),  # first second: 1 day late
    "i": (10, "NOT_STARTED", None, None, "s1"),  # due within 14 days
    "j": (105, "NOT_STARTED", None, None, "s1"),  # after SOP (+100): at risk
    "k": (-10, "IN_PROGRESS", None, None, "s2"),  # removed assignment
}


@pytest.fixture
def known(session: Session) -> Known:
    project = Project(
        code="R-1", name="Reports", status="ACTIVE", start_date=day(-200), sop_date=day(100)
    )
    session.add(project)
    suppliers = {
        name: Supplier(code=f"R-{name}", name=f"Supplier {name}", status="ACTIVE")
        for name in ("s1", "s2", "s3")
    }
    session.add_all(suppliers.values())
    session.flush()
    assignments = {}
    for name, status in (("s1", "ACTIVE"), ("s2", "REMOVED"), ("s3", "ACTIVE")):
        assignment = SupplierProject(
            supplier_id=suppliers[name].id, project_id=project.id, status=status
        )
        session.add(assignment)
        session.flush()
        assignments[name] = assignment
    ids: dict[str, int] = {}
    for sequence, (name, (offset, status, submitted, completed, who)) in enumerate(ROWS.items()):
        template = TaskTemplate(
            project_id=project.id, name=f"M-{name}", canonical_due=day(offset), sequence=sequence
        )
        session.add(template)
        session.flush()
        instance = TaskInstance(
            supplier_project_id=assignments[who].id,
            project_id=project.id,
            supplier_id=suppliers[who].id,
            task_template_id=template.id,
            status=status,
            actual_due=day(offset),
            submitted_at=submitted,
            completed_at=completed,
        )
        session.add(instance)
        session.flush()
        ids[name] = instance.id
    history: list[dict[str, Any]] = []
    base = {"actor": "system:test", "source": "API", "changed_at": at(-40)}
    rejection = {
        **base,
        "task_instance_id": ids["b"],
        "field": "STATUS",
        "old_value": "SUBMITTED",
        "new_value": "REJECTED",
    }
    history += [rejection, dict(rejection)]  # rejected twice
    history += [
        {
            **base,
            "task_instance_id": ids["d"],
            "field": "ACTUAL_DUE",
            "old_value": day(-12).isoformat(),
            "new_value": day(-10).isoformat(),
            "reason_code": "TOOLING_DELAY",
        },
        {
            **base,
            "task_instance_id": ids["e"],
            "field": "ACTUAL_DUE",
            "old_value": day(-3).isoformat(),
            "new_value": day(0).isoformat(),
        },
        {
            **base,
            "task_instance_id": ids["c"],
            "field": "ACTUAL_DUE",
            "old_value": day(-15).isoformat(),
            "new_value": day(-20).isoformat(),
            "reason_code": "PLAN_CHANGE",
        },
    ]
    session.execute(insert(TaskInstanceHistory), history)
    session.flush()
    return Known(project, suppliers["s1"], suppliers["s2"], suppliers["s3"], ids)


def ids_of(session: Session, known: Known) -> list[int]:
    return list(
        session.scalars(select(TaskInstance.id).where(TaskInstance.project_id == known.project.id))
    )
