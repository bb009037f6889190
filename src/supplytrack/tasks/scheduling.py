"""Moving the due dates of task instances: plan, check the rules, apply set-based, audit.

Every due-date change of instances goes through here: a single PATCH, instances following a
template, fan-out repairs, bulk shifts. Plans are made by the pure ``schedule.plan`` module
over each supplier's instance graph (the template graph of the project, per assignment).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from supplytrack.audit.models import ChangeSource, HistoryField
from supplytrack.audit.service import AuditService, Change, Why
from supplytrack.auth.actor import Actor
from supplytrack.calendars.workdays import WorkCalendar
from supplytrack.core.errors import SupplyTrackError
from supplytrack.core.time import today, utcnow
from supplytrack.projects.models import Project
from supplytrack.schedule.exceptions import DependencyOrder, DueDateInPast, PastSopNeedsReason
from supplytrack.schedule.plan import Plan, plan_moves, repair
from supplytrack.tasks.enums import TaskStatus
from supplytrack.tasks.sets import InstanceSets


class Unit(enum.StrEnum):
    """How a shift or a cascade is counted."""

    DAYS = "DAYS"
    WORKING_DAYS = "WORKING_DAYS"


def shift_date(day: date, amount: int, unit: Unit, calendar: WorkCalendar) -> date:
    """``day`` moved by ``amount`` calendar or working days (working days land on one)."""
    if unit == Unit.WORKING_DAYS:
        return calendar.add_working_days(day, amount)
    return day + timedelta(days=amount)


def measure(old: date, new: date, unit: Unit, calendar: WorkCalendar) -> int:
    """The size of a move from ``old`` to ``new`` in ``unit``."""
    if unit == Unit.WORKING_DAYS:
        return calendar.working_days_between(old, new)
    return (new - old).days


@dataclass(frozen=True, slots=True)
class Loaded:
    """The open instances of (part of) a project, with their dependency graph."""

    supplier_project_of: dict[int, int]
    template_of: dict[int, int]
    dates: dict[int, date]
    graph: dict[int, list[int]]
    status_of: dict[int, TaskStatus]
    supplier_of: dict[int, int]


class Scheduler:
    """Plans and applies due-date moves of task instances for one actor."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.tasks = InstanceSets(session, actor)
        self.audit = AuditService(session, actor)

    def load(
        self,
        project_id: int,
        template_graph: Mapping[int, Iterable[int]],
        *,
        supplier_project_ids: Iterable[int] | None = None,
        template_ids: Iterable[int] | None = None,
        include_removed: bool = False,
    ) -> Loaded:
        """Load open instances (locked on PostgreSQL) and map the template graph onto them."""
        rows = self.tasks.schedule_rows(
            project_id,
            supplier_project_ids=supplier_project_ids,
            template_ids=template_ids,
            include_removed=include_removed,
        )
        by_key = {(row.supplier_project_id, row.task_template_id): row.id for row in rows}
        graph: dict[int, list[int]] = {}
        for row in rows:
            graph[row.id] = [
                by_key[(row.supplier_project_id, prerequisite)]
                for prerequisite in template_graph.get(row.task_template_id, ())
                if (row.supplier_project_id, prerequisite) in by_key
            ]
        return Loaded(
            supplier_project_of={row.id: row.supplier_project_id for row in rows},
            template_of={row.id: row.task_template_id for row in rows},
            dates={row.id: row.actual_due for row in rows},
            graph=graph,
            status_of={row.id: row.status for row in rows},
            supplier_of={row.id: row.supplier_id for row in rows},
        )

    @staticmethod
    def plan(
        loaded: Loaded,
        seeds: Mapping[int, date],
        *,
        cascade: bool,
        unit: Unit,
        calendar: WorkCalendar,
    ) -> Plan[int]:
        """The moves of ``seeds`` (and, with cascade, of everything downstream)."""
        return plan_moves(
            loaded.graph,
            loaded.dates,
            seeds,
            cascade=cascade,
            delta_of=lambda old, new: measure(old, new, unit, calendar),
            shift=lambda old, delta: shift_date(old, delta, unit, calendar),
        )

    @staticmethod
    def repair_plan(loaded: Loaded) -> Plan[int]:
        """Moves that restore the dependency order (after fan-out next to moved dates)."""
        return repair(loaded.graph, loaded.dates)

    @staticmethod
    def violations(
        plan: Plan[int], loaded: Loaded, project: Project, why: Why
    ) -> list[SupplyTrackError]:
        """Every rule the plan breaks: past dates, dependency order, SOP without a reason."""
        found: list[SupplyTrackError] = []
        moved = plan.moves
        now = today()
        past = [
            {"taskInstanceId": node, "actualDue": move.new.isoformat()}
            for node, move in sorted(moved.items())
            if move.new < now
        ]
        if past:
            found.append(DueDateInPast(now, past))
        broken = [
            _pair(prerequisite, dependent, plan, loaded)
            for prerequisite, dependent in plan.broken
            if prerequisite in moved or dependent in moved
        ]
        if broken:
            found.append(DependencyOrder("task instances", broken))
        sop = project.sop_date
        if sop is not None and not (why.reason and why.reason.strip()):
            late = [
                {"taskInstanceId": node, "actualDue": move.new.isoformat()}
                for node, move in sorted(moved.items())
                if move.new > sop >= move.old
            ]
            if late:
                found.append(PastSopNeedsReason(sop, late))
        return found

    @classmethod
    def check(cls, plan: Plan[int], loaded: Loaded, project: Project, why: Why) -> None:
        """Refuse the plan if a moved date is past, out of order, or past SOP unexplained."""
        found = cls.violations(plan, loaded, project, why)
        if found:
            raise found[0]

    def apply(
        self, plan: Plan[int], *, seed_source: ChangeSource, why: Why, skip: Iterable[int] = ()
    ) -> int:
        """Write the plan's dates set-based and one history row per moved instance."""
        skipped = set(skip)
        moves = [move for node, move in sorted(plan.moves.items()) if node not in skipped]
        if not moves:
            return 0
        self.tasks.set_due_dates({move.node: (move.old, move.new) for move in moves}, utcnow())
        for source in dict.fromkeys((seed_source, ChangeSource.CASCADE)):
            changes = [
                Change(move.node, HistoryField.ACTUAL_DUE, move.old, move.new)
                for move in moves
                if (ChangeSource.CASCADE if move.cascaded else seed_source) == source
            ]
            if changes:
                self.audit.record(changes, source=source, why=why)
        return len(moves)


def _pair(prerequisite: int, dependent: int, plan: Plan[int], loaded: Loaded) -> dict[str, Any]:
    return {
        "taskInstanceId": dependent,
        "actualDue": plan.new_date(dependent, loaded.dates).isoformat(),
        "prerequisiteId": prerequisite,
        "prerequisiteDue": plan.new_date(prerequisite, loaded.dates).isoformat(),
    }
