"""Hand-built data for the overview, project and scorecard pages: every figure known ahead.

Project W-A has milestones m1 (due 10 days ago), m2 (in 5 days) and m3 (in 12 days), and
suppliers s1 (active), s2 (active) and s3 (removed):

    s1: m1 APPROVED (done)      m2 NOT_STARTED (open)   m3 IN_PROGRESS (open)
    s2: m1 IN_PROGRESS (late)   m2 SUBMITTED (open)     m3 NOT_STARTED (open)
    s3: m1 NOT_STARTED          (removed: not counted by the status report)

so W-A has 6 counted instances (APPROVED 1, IN_PROGRESS 2, NOT_STARTED 2, SUBMITTED 1),
16.67 % complete, 1 overdue, 2 due in 7 days, 4 in 14, s2 at risk (1 overdue, 10 days).
Project W-B has no suppliers and no milestones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from supplytrack.audit.models import TaskInstanceHistory
from supplytrack.calendars.models import ProjectCalendar, ProjectHoliday
from supplytrack.core.identity import Role
from supplytrack.core.time import today
from supplytrack.projects.models import Project
from supplytrack.suppliers.models import Supplier, SupplierProject
from supplytrack.tasks.models import TaskInstance
from supplytrack.templates.models import TaskTemplate
from tests.fixtures.auth import Caller, make_caller


def day(offset: int) -> date:
    """Today plus ``offset`` days."""
    return today() + timedelta(days=offset)


def at(value: date, clock: time = time(12)) -> datetime:
    """Noon (UTC) of a day."""
    return datetime.combine(value, clock, tzinfo=UTC)


@dataclass
class Board:
    """What the builder made, by name."""

    projects: dict[str, Project] = field(default_factory=dict)
    suppliers: dict[str, Supplier] = field(default_factory=dict)
    assignments: dict[tuple[str, str], SupplierProject] = field(default_factory=dict)
    milestones: dict[str, TaskTemplate] = field(default_factory=dict)
    instances: dict[tuple[str, str], int] = field(default_factory=dict)

    def caller(self, session: Session, supplier: str) -> Caller:
        """A supplier token of one of the board's suppliers."""
        return make_caller(session, Role.SUPPLIER, self.suppliers[supplier].id)


def instance(
    session: Session,
    assignment: SupplierProject,
    template: TaskTemplate,
    status: str,
    due: date,
    submitted: datetime | None = None,
    completed: datetime | None = None,
) -> int:
    """One task instance, written as is (any status and times)."""
    row = TaskInstance(
        supplier_project_id=assignment.id,
        project_id=assignment.project_id,
        supplier_id=assignment.supplier_id,
        task_template_id=template.id,
        status=status,
        actual_due=due,
        submitted_at=submitted,
        completed_at=completed,
    )
    session.add(row)
    session.flush()
    return row.id


def history(session: Session, rows: list[dict[str, Any]]) -> None:
    """History rows (rejections, due-date moves) as the audit trail would hold them."""
    base = {"actor": "system:test", "source": "API", "changed_at": at(day(-40))}
    session.execute(insert(TaskInstanceHistory), [{**base, **row} for row in rows])
    session.flush()


def build(session: Session) -> Board:
    """Projects W-A and W-B as the module docstring says, with a calendar on W-A."""
    board = Board()
    board.projects["A"] = Project(
        code="W-A", name="Alpha <launch>", status="ACTIVE", start_date=day(-60), sop_date=day(90)
    )
    board.projects["B"] = Project(
        code="W-B", name="Beta", status="PLANNING", start_date=day(-10), sop_date=day(200)
    )
    session.add_all(board.projects.values())
    for name in ("s1", "s2", "s3"):
        board.suppliers[name] = Supplier(code=f"W-{name}", name=f"Supplier {name}", status="ACTIVE")
    session.add_all(board.suppliers.values())
    session.flush()
    project = board.projects["A"]
    for name, status in (("s1", "ACTIVE"), ("s2", "ACTIVE"), ("s3", "REMOVED")):
        assignment = SupplierProject(
            supplier_id=board.suppliers[name].id, project_id=project.id, status=status
        )
        session.add(assignment)
        session.flush()
        board.assignments[("A", name)] = assignment
    for sequence, (name, offset) in enumerate((("m1", -10), ("m2", 5), ("m3", 12))):
        template = TaskTemplate(
            project_id=project.id, name=name, canonical_due=day(offset), sequence=sequence
        )
        session.add(template)
        session.flush()
        board.milestones[name] = template
    cells = {
        ("s1", "m1"): ("APPROVED", at(day(-11)), at(day(-10))),
        ("s1", "m2"): ("NOT_STARTED", None, None),
        ("s1", "m3"): ("IN_PROGRESS", None, None),
        ("s2", "m1"): ("IN_PROGRESS", None, None),
        ("s2", "m2"): ("SUBMITTED", at(day(-1)), None),
        ("s2", "m3"): ("NOT_STARTED", None, None),
        ("s3", "m1"): ("NOT_STARTED", None, None),
    }
    for (who, what), (status, submitted, completed) in cells.items():
        template = board.milestones[what]
        board.instances[(who, what)] = instance(
            session,
            board.assignments[("A", who)],
            template,
            status,
            template.canonical_due,
            submitted,
            completed,
        )
    session.add(ProjectCalendar(project_id=project.id, working_weekdays=0b0111111))
    session.flush()
    session.add_all(
        [
            ProjectHoliday(project_id=project.id, day=day(-100), name="Before the window"),
            ProjectHoliday(project_id=project.id, day=day(20), name="Plant <shutdown>"),
            ProjectHoliday(project_id=project.id, day=day(120), name="After SOP"),
        ]
    )
    session.flush()
    return board
