"""Bulk date changes over a project: scope, plan (with cascade), preview, apply."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from supplytrack.audit.models import ChangeSource
from supplytrack.audit.service import Why
from supplytrack.auth.actor import Actor
from supplytrack.calendars.service import CalendarService
from supplytrack.calendars.workdays import WorkCalendar
from supplytrack.projects.models import Project
from supplytrack.projects.service import ProjectService
from supplytrack.schedule.plan import Plan
from supplytrack.tasks.scheduling import Loaded, Scheduler, Unit, shift_date
from supplytrack.templates.service import TemplateService

SAMPLE_SIZE = 50


@dataclass(frozen=True, slots=True)
class DatePlan:
    """A planned date change of (part of) one project."""

    project: Project
    loaded: Loaded
    plan: Plan[int]
    matched: int

    @property
    def cascaded(self) -> int:
        """Moves made by the cascade."""
        return sum(1 for move in self.plan.moves.values() if move.cascaded)

    def token(self) -> str:
        """A digest of the outcome: equal tokens mean the same moves to the same dates."""
        digest = hashlib.sha256(str(self.project.id).encode())
        for node, move in sorted(self.plan.moves.items()):
            digest.update(f"{node}:{move.old}:{move.new};".encode())
        return digest.hexdigest()[:32]

    def sample(self) -> list[dict[str, Any]]:
        """The first moves, for people to check."""
        return [
            {
                "task_instance_id": node,
                "supplier_id": self.loaded.supplier_of[node],
                "task_template_id": self.loaded.template_of[node],
                "from_date": move.old,
                "to_date": move.new,
                "cascaded": move.cascaded,
            }
            for node, move in sorted(self.plan.moves.items())[:SAMPLE_SIZE]
        ]


def _in_scope(node: int, loaded: Loaded, change: Mapping[str, Any]) -> bool:
    due = loaded.dates[node]
    return (
        (not change.get("template_ids") or loaded.template_of[node] in change["template_ids"])
        and (not change.get("supplier_ids") or loaded.supplier_of[node] in change["supplier_ids"])
        and (not change.get("statuses") or loaded.status_of[node] in change["statuses"])
        and (change.get("due_from") is None or due >= change["due_from"])
        and (change.get("due_to") is None or due <= change["due_to"])
    )


def _target(due: date, change: Mapping[str, Any], calendar: WorkCalendar) -> date:
    if change.get("new_date") is not None:
        return date.fromisoformat(str(change["new_date"]))
    if change.get("shift_working_days") is not None:
        return shift_date(due, int(change["shift_working_days"]), Unit.WORKING_DAYS, calendar)
    return shift_date(due, int(change["shift_days"]), Unit.DAYS, calendar)


class DateBulk:
    """Plans and applies a date change over a project's instances for one actor."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor
        self.scheduler = Scheduler(session, actor)

    def plan(
        self,
        project_id: int,
        change: Mapping[str, Any],
        *,
        supplier_project_ids: Iterable[int] | None = None,
    ) -> DatePlan:
        """The moves of the change (seeds in scope, plus the cascade when asked)."""
        project = ProjectService(self.session, self.actor).get(project_id)
        calendar = CalendarService(self.session, self.actor).calendar(project_id)
        graph = TemplateService(self.session, self.actor).graph(project_id)
        loaded = self.scheduler.load(project_id, graph, supplier_project_ids=supplier_project_ids)
        scoped = [node for node in loaded.dates if _in_scope(node, loaded, change)]
        seeds = {node: _target(loaded.dates[node], change, calendar) for node in scoped}
        unit = Unit.WORKING_DAYS if change.get("shift_working_days") is not None else Unit.DAYS
        plan = self.scheduler.plan(
            loaded, seeds, cascade=bool(change.get("cascade")), unit=unit, calendar=calendar
        )
        return DatePlan(project, loaded, plan, len(scoped))

    def violations(self, planned: DatePlan, why: Why) -> list[dict[str, Any]]:
        """Every rule the change breaks, as error envelopes' inner parts."""
        return [
            {"code": error.code, "message": error.message, "details": error.details}
            for error in self.scheduler.violations(
                planned.plan, planned.loaded, planned.project, why
            )
        ]

    def apply(self, planned: DatePlan, why: Why, *, skip_supplier_projects: set[int]) -> int:
        """Write the moves (except those of skipped assignments), with BULK/CASCADE history."""
        loaded = planned.loaded
        skip = [
            node
            for node in planned.plan.moves
            if loaded.supplier_project_of[node] in skip_supplier_projects
        ]
        return self.scheduler.apply(planned.plan, seed_source=ChangeSource.BULK, why=why, skip=skip)
