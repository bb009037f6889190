"""What a bulk date change does to one project, by the cheapest exact means.

Two kinds of plan, one set of rules (``planning.rules.violations``):

- the uniform shift (whole assignments by N calendar days, no milestone, status or date
  filter) cannot break an order inside an assignment, so it is never loaded: the rules' three
  questions are SQL aggregates, and applying it is one UPDATE and one INSERT ... SELECT of
  history rows per chunk;
- every other change is planned instance by instance by the date engine, cascade included.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from supplytrack.audit.models import ChangeSource
from supplytrack.audit.service import Why
from supplytrack.bulk.schemas import DateChange
from supplytrack.flows.base import Flow, moves_of
from supplytrack.planning.context import InstanceGraph, PlanningContext
from supplytrack.planning.repository import PlanningRepository
from supplytrack.planning.rules import (
    SAMPLE,
    DatePlan,
    Offenders,
    Subject,
    as_violation,
    plan_instances,
    violations,
)
from supplytrack.planning.shifts import Unit, add_days, shift_date
from supplytrack.tasks.service import TaskService

SAMPLE_SIZE = 50


def is_uniform(change: DateChange) -> bool:
    """Whether the change shifts whole assignments by calendar days."""
    return (
        change.shift_days is not None
        and not change.template_ids
        and not change.statuses
        and change.due_from is None
        and change.due_to is None
    )


@dataclass(frozen=True, slots=True)
class DateOutcome:
    """What a date change does to one project, and how to apply it."""

    moves: int
    matched: int
    cascaded: int
    token: str
    violations: list[dict[str, Any]]
    sample: Callable[[], list[dict[str, Any]]]
    apply: Callable[[Why], int]


class UniformShift:
    """A uniform shift of one project's open instances, as a plan the rules can judge.

    It answers the rules' questions from the tasks domain's SQL (:class:`ShiftScope`).
    """

    subject = Subject.INSTANCES
    imported = False

    def __init__(self, tasks: TaskService, project_id: int, change: DateChange) -> None:
        self.tasks = tasks
        self.project_id = project_id
        self.days = change.shift_days or 0
        self.supplier_ids = list(change.supplier_ids)
        self.reason = change.reason
        self.scope = tasks.shift_scope(project_id, self.days, supplier_ids=self.supplier_ids)
        count, earliest, latest, ids, versions = self.scope.summary()
        self.count = int(count)
        self.earliest: date | None = earliest
        self.latest: date | None = latest
        key = f"uniform:{project_id}:{self.days}:{self.supplier_ids}:{count}:{ids}:{versions}"
        self.fingerprint = hashlib.sha256(key.encode()).hexdigest()[:32]

    def _details(self, found: tuple[int, Any]) -> Offenders:
        total, rows = found
        return Offenders(
            [
                {
                    "taskInstanceId": row.id,
                    "actualDue": add_days(row.actual_due, self.days).isoformat(),
                }
                for row in rows[:SAMPLE]
            ],
            total,
        )

    def outside(self, first: date | None, last: date | None) -> Offenders:
        """Instances whose shifted date leaves first..last (no query when none can)."""
        if (
            self.earliest is None
            or self.latest is None
            or (
                (first is None or add_days(self.earliest, self.days) >= first)
                and (last is None or add_days(self.latest, self.days) <= last)
            )
        ):
            return Offenders([], 0)
        return self._details(self.scope.outside(first, last))

    def crossing(self, day: date) -> Offenders:
        """Instances the shift moves from on or before ``day`` to after it."""
        if self.earliest is None or self.days <= 0 or self.earliest > day:
            return Offenders([], 0)
        return self._details(self.scope.across(day))

    def broken_pairs(self) -> Offenders:
        """None: every instance of an assignment moves by the same days."""
        return Offenders([], 0)

    def sample(self) -> list[dict[str, Any]]:
        """The first moves, for people to check."""
        return [
            {
                "task_instance_id": row.id,
                "supplier_id": row.supplier_id,
                "task_template_id": row.task_template_id,
                "from_date": row.actual_due,
                "to_date": add_days(row.actual_due, self.days),
                "cascaded": False,
            }
            for row in self.scope.sample()[:SAMPLE_SIZE]
        ]

    def apply(self, why: Why) -> int:
        """Shift the scope and write its history: two statements."""
        return self.tasks.shift(self.scope, why=why)


@dataclass(frozen=True, slots=True)
class PlannedChange:
    """An enumerated date change of (part of) one project."""

    plan: DatePlan
    instances: InstanceGraph
    matched: int

    @property
    def cascaded(self) -> int:
        """Moves made by the cascade."""
        return sum(1 for move in self.plan.plan.moves.values() if move.cascaded)

    def token(self, project_id: int) -> str:
        """A digest of the outcome: equal tokens mean the same moves to the same dates."""
        digest = hashlib.sha256(str(project_id).encode())
        for node, move in sorted(self.plan.plan.moves.items()):
            digest.update(f"{node}:{move.old}:{move.new};".encode())
        return digest.hexdigest()[:32]

    def sample(self) -> list[dict[str, Any]]:
        """The first moves, for people to check."""
        return [
            {
                "task_instance_id": node,
                "supplier_id": self.instances.supplier_of[node],
                "task_template_id": self.instances.template_of[node],
                "from_date": move.old,
                "to_date": move.new,
                "cascaded": move.cascaded,
            }
            for node, move in sorted(self.plan.plan.moves.items())[:SAMPLE_SIZE]
        ]

    def assignment_of(self, instance_id: int) -> int | None:
        """The assignment an instance of the plan belongs to."""
        return self.instances.supplier_project_of.get(instance_id)


def _in_scope(node: int, instances: InstanceGraph, change: DateChange) -> bool:
    due = instances.dates[node]
    return (
        (not change.template_ids or instances.template_of[node] in change.template_ids)
        and (not change.supplier_ids or instances.supplier_of[node] in change.supplier_ids)
        and (not change.statuses or instances.status_of[node] in change.statuses)
        and (change.due_from is None or due >= change.due_from)
        and (change.due_to is None or due <= change.due_to)
    )


def _target(due: date, change: DateChange, context: PlanningContext) -> date:
    if change.new_date is not None:
        return change.new_date
    if change.shift_working_days is not None:
        return shift_date(due, change.shift_working_days, Unit.WORKING_DAYS, context.calendar)
    return shift_date(due, change.shift_days or 0, Unit.DAYS, context.calendar)


class DatePlanner:
    """Plans (and applies) bulk date changes of one flow, project by project."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.tasks = TaskService(flow.session, flow.actor)
        self.planning = PlanningRepository(flow.session)

    def context(self, project_id: int) -> PlanningContext:
        """The project's planning context."""
        return self.planning.context(project_id, self.flow.today)

    def plan(
        self,
        context: PlanningContext,
        change: DateChange,
        *,
        supplier_project_ids: Iterable[int] | None = None,
    ) -> PlannedChange:
        """The moves of the change (seeds in scope, plus the cascade when asked)."""
        instances = self.planning.instances(context, supplier_project_ids=supplier_project_ids)
        scoped = [node for node in instances.dates if _in_scope(node, instances, change)]
        seeds = {node: _target(instances.dates[node], change, context) for node in scoped}
        unit = Unit.WORKING_DAYS if change.shift_working_days is not None else Unit.DAYS
        plan = plan_instances(
            context, instances, seeds, cascade=change.cascade, unit=unit, reason=change.reason
        )
        return PlannedChange(plan, instances, len(scoped))

    def outcome(self, project_id: int, change: DateChange) -> DateOutcome:
        """What the change does to one project, and how to apply it."""
        context = self.context(project_id)
        if is_uniform(change):
            shift = UniformShift(self.tasks, project_id, change)
            return DateOutcome(
                moves=shift.count,
                matched=shift.count,
                cascaded=0,
                token=shift.fingerprint,
                violations=[as_violation(e) for e in violations(shift, context)],
                sample=shift.sample,
                apply=shift.apply,
            )
        planned = self.plan(context, change)
        return DateOutcome(
            moves=planned.plan.moves,
            matched=planned.matched,
            cascaded=planned.cascaded,
            token=planned.token(project_id),
            violations=[as_violation(e) for e in violations(planned.plan, context)],
            sample=planned.sample,
            apply=lambda why: self.apply(planned, why),
        )

    def apply(self, planned: PlannedChange, why: Why, *, skip: Iterable[int] = ()) -> int:
        """Write the moves (except those of skipped assignments), with BULK/CASCADE history."""
        skipped = set(skip)
        in_skipped = [
            node for node in planned.plan.plan.moves if planned.assignment_of(node) in skipped
        ]
        return self.tasks.move_dates(
            moves_of(planned.plan, ChangeSource.BULK, skip=in_skipped),
            source=ChangeSource.BULK,
            why=why,
        )
