"""The date rules, once: ``violations(plan, context)`` for every path that moves a date.

Single PATCHes, template moves, new milestones, bulk previews and jobs, fan-out repairs and the
importer all describe what they would do as a plan and ask ``violations``; nothing is written
while it finds anything. A plan answers three questions (which moved dates fall outside a
range, which cross a day, which dependencies break); an enumerated :class:`DatePlan` answers
them from its moves, the set-based uniform shift from SQL aggregates.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from supplytrack.core.errors import SupplyTrackError
from supplytrack.core.time import FIRST_DAY, LAST_DAY
from supplytrack.planning.context import InstanceGraph, PlanningContext
from supplytrack.planning.exceptions import (
    DateOutOfRange,
    DependencyOrder,
    DueDateInPast,
    OutsideProjectWindow,
    PastSopNeedsReason,
)
from supplytrack.planning.plan import Move, Plan, broken_dependencies, plan_moves, repair
from supplytrack.planning.shifts import Unit, measure, shift_date
from supplytrack.planning.workdays import WorkCalendar

# The id a milestone not created yet stands under in a plan (real ids start at 1).
NEW_TEMPLATE = 0
SAMPLE = 100


class Subject(enum.StrEnum):
    """What a plan moves: milestones (canonical dates) or task instances (actual due dates)."""

    TEMPLATES = "templates"
    INSTANCES = "task instances"

    @property
    def id_key(self) -> str:
        """The detail key naming one node."""
        return "taskTemplateId" if self is Subject.TEMPLATES else "taskInstanceId"

    @property
    def date_key(self) -> str:
        """The detail key of a node's date."""
        return "canonicalDue" if self is Subject.TEMPLATES else "actualDue"


@dataclass(frozen=True, slots=True)
class Offenders:
    """Some of the nodes that break a rule (at most SAMPLE details) and how many do."""

    details: list[dict[str, Any]]
    total: int


class PlanFacts(Protocol):
    """What the rules ask of a plan, however it is held."""

    @property
    def subject(self) -> Subject:
        """What the plan moves."""

    @property
    def reason(self) -> str | None:
        """The reason given with the change, if any."""

    @property
    def imported(self) -> bool:
        """Whether this is an import of history (past dates allowed)."""

    def outside(self, first: date | None, last: date | None) -> Offenders:
        """Moved nodes whose new date is before ``first`` or after ``last`` (None: open)."""

    def crossing(self, day: date) -> Offenders:
        """Moved nodes that go from on or before ``day`` to after it."""

    def broken_pairs(self) -> Offenders:
        """Dependencies that end up out of order, where one side moved."""


@dataclass(frozen=True, slots=True)
class DatePlan:
    """An enumerated plan: every move, over a graph whose dates before the plan are known."""

    subject: Subject
    plan: Plan[int]
    before: Mapping[int, date]
    reason: str | None = None
    imported: bool = False
    # The graph's edges changed (new prerequisites): every broken pair counts, moved or not.
    new_edges: bool = False

    @classmethod
    def edges(
        cls, subject: Subject, broken: list[tuple[int, int]], dates: Mapping[int, date]
    ) -> DatePlan:
        """No date moves, but these (prerequisite, dependent) pairs would be out of order."""
        return cls(subject, Plan(broken=broken), dates, new_edges=True)

    @property
    def moves(self) -> int:
        """How many dates change."""
        return len(self.plan.moves)

    def _node(self, node: int, day: date) -> dict[str, Any]:
        detail: dict[str, Any] = {} if node == NEW_TEMPLATE else {self.subject.id_key: node}
        detail[self.subject.date_key] = day.isoformat()
        return detail

    def _offenders(self, nodes: list[tuple[int, date]]) -> Offenders:
        return Offenders([self._node(n, d) for n, d in nodes[:SAMPLE]], len(nodes))

    def outside(self, first: date | None, last: date | None) -> Offenders:
        """Moved nodes whose new date lies outside first..last."""
        return self._offenders(
            sorted(
                (node, move.new)
                for node, move in self.plan.moves.items()
                if (first is not None and move.new < first)
                or (last is not None and move.new > last)
            )
        )

    def crossing(self, day: date) -> Offenders:
        """Moved nodes that go from on or before ``day`` to after it."""
        return self._offenders(
            sorted(
                (node, move.new)
                for node, move in self.plan.moves.items()
                if move.new > day >= move.old
            )
        )

    def broken_pairs(self) -> Offenders:
        """Out-of-order dependencies touching a moved node."""
        moved = self.plan.moves
        pairs = [
            {
                **self._node(dependent, self.plan.new_date(dependent, self.before)),
                "prerequisiteId": prerequisite,
                "prerequisiteDue": self.plan.new_date(prerequisite, self.before).isoformat(),
            }
            for prerequisite, dependent in self.plan.broken
            if self.new_edges or prerequisite in moved or dependent in moved
        ]
        return Offenders(pairs[:SAMPLE], len(pairs))


def violations(plan: PlanFacts, context: PlanningContext) -> list[SupplyTrackError]:
    """Every date rule the plan breaks (SPEC section 2), in a stable order; empty: it may go."""
    found: list[SupplyTrackError] = []
    out = plan.outside(FIRST_DAY, LAST_DAY)
    if out.total:
        found.append(DateOutOfRange(out.details, out.total))
    if not plan.imported:
        past = plan.outside(context.today, None)
        if past.total:
            found.append(DueDateInPast(context.today, past.details, past.total))
    disorder = order_violation(plan)
    if disorder is not None:
        found.append(disorder)
    start, sop = context.project.start_date, context.project.sop_date
    if plan.subject is Subject.TEMPLATES:
        outside = window_violation(plan, start, sop)
        if outside is not None:
            found.append(outside)
    if (
        plan.subject is Subject.INSTANCES
        and sop is not None
        and not plan.imported
        and not (plan.reason and plan.reason.strip())
    ):
        late = plan.crossing(sop)
        if late.total:
            found.append(PastSopNeedsReason(sop, late.details, late.total))
    return found


def window_violation(
    plan: PlanFacts, start: date | None, sop: date | None
) -> SupplyTrackError | None:
    """The window rule alone: planned dates lie within the project's start..SOP."""
    if start is None and sop is None:
        return None
    outside = plan.outside(start, sop)
    return OutsideProjectWindow(start, sop, outside.details) if outside.total else None


def check_window(context: PlanningContext, start: date | None, sop: date | None) -> None:
    """Refuse a new project window that would leave some planned date outside it."""
    dates = context.template_dates
    unmoved = Plan(moves={n: Move(n, d, d, cascaded=False) for n, d in dates.items()})
    outside = window_violation(DatePlan(Subject.TEMPLATES, unmoved, dates), start, sop)
    if outside is not None:
        raise outside


def order_violation(plan: PlanFacts) -> SupplyTrackError | None:
    """The dependency-order rule alone: no dependent due before a prerequisite."""
    broken = plan.broken_pairs()
    return DependencyOrder(str(plan.subject), broken.details) if broken.total else None


def check_order(plan: PlanFacts) -> None:
    """Refuse new prerequisites that some dates already break (their dates are not re-checked)."""
    disorder = order_violation(plan)
    if disorder is not None:
        raise disorder


def check(plan: PlanFacts, context: PlanningContext) -> None:
    """Refuse the plan (raise its first violation) when it breaks any rule."""
    found = violations(plan, context)
    if found:
        raise found[0]


def as_violation(error: SupplyTrackError) -> dict[str, Any]:
    """A violation as previews list it: the inner part of an error envelope."""
    return {"code": error.code, "message": error.message, "details": error.details}


def plan_templates(
    context: PlanningContext,
    seeds: Mapping[int, date],
    *,
    cascade: bool,
    unit: Unit,
    reason: str | None = None,
) -> DatePlan:
    """Move milestones' planned dates (and, with cascade, every milestone downstream)."""
    plan = _moves(
        context.template_graph, context.template_dates, seeds, cascade, unit, context.calendar
    )
    return DatePlan(Subject.TEMPLATES, plan, context.template_dates, reason)


def _moves(
    graph: Mapping[int, list[int]],
    dates: Mapping[int, date],
    seeds: Mapping[int, date],
    cascade: bool,
    unit: Unit,
    calendar: WorkCalendar,
) -> Plan[int]:
    return plan_moves(
        graph,
        dates,
        seeds,
        cascade=cascade,
        delta_of=lambda old, new: measure(old, new, unit, calendar),
        shift=lambda old, delta: shift_date(old, delta, unit, calendar),
    )


def plan_new_template(context: PlanningContext, due: date, prerequisites: list[int]) -> DatePlan:
    """A milestone about to be added: its date, and its order after its prerequisites."""
    dates = {**context.template_dates, NEW_TEMPLATE: due}
    # A "move" from the new date to itself: checked like any date being set.
    plan = Plan(
        moves={NEW_TEMPLATE: Move(NEW_TEMPLATE, due, due, cascaded=False)},
        broken=broken_dependencies({NEW_TEMPLATE: list(prerequisites)}, dates.__getitem__),
    )
    return DatePlan(Subject.TEMPLATES, plan, dates)


def plan_instances(
    context: PlanningContext,
    instances: InstanceGraph,
    seeds: Mapping[int, date],
    *,
    cascade: bool,
    unit: Unit,
    reason: str | None = None,
    imported: bool = False,
) -> DatePlan:
    """Move instances' due dates (and, with cascade, their supplier's downstream instances)."""
    plan = _moves(instances.graph, instances.dates, seeds, cascade, unit, context.calendar)
    return DatePlan(Subject.INSTANCES, plan, instances.dates, reason, imported)


def plan_repair(instances: InstanceGraph, reason: str | None = None) -> DatePlan:
    """Moves that put every dependent on or after its prerequisites (after fan-out)."""
    return DatePlan(
        Subject.INSTANCES, repair(instances.graph, instances.dates), instances.dates, reason
    )
