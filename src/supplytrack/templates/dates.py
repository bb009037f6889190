"""Date rules of templates: future only, inside the project window, after prerequisites."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from supplytrack.core.time import today
from supplytrack.projects.models import Project
from supplytrack.schedule.exceptions import DependencyOrder, DueDateInPast, OutsideProjectWindow
from supplytrack.schedule.plan import Plan


def check_future(new_dates: Mapping[int, date], key: str = "taskTemplateId") -> None:
    """Every date being set is today or later (APP_TIMEZONE)."""
    now = today()
    past = [
        {key: node, "canonicalDue": day.isoformat()}
        for node, day in sorted(new_dates.items())
        if day < now
    ]
    if past:
        raise DueDateInPast(now, past)


def check_window(project: Project, new_dates: Mapping[int, date]) -> None:
    """Every planned date lies within the project's start..SOP window (when set)."""
    start, sop = project.start_date, project.sop_date
    outside = [
        {"taskTemplateId": node, "canonicalDue": day.isoformat()}
        for node, day in sorted(new_dates.items())
        if (start is not None and day < start) or (sop is not None and day > sop)
    ]
    if outside:
        raise OutsideProjectWindow(start, sop, outside)


def check_order(plan: Plan[int], dates: Mapping[int, date]) -> None:
    """No template that moved (or whose prerequisites moved) is due before a prerequisite."""
    broken = [
        {
            "taskTemplateId": dependent,
            "canonicalDue": plan.new_date(dependent, dates).isoformat(),
            "prerequisiteId": prerequisite,
            "prerequisiteDue": plan.new_date(prerequisite, dates).isoformat(),
        }
        for prerequisite, dependent in plan.broken
        if prerequisite in plan.moves or dependent in plan.moves
    ]
    if broken:
        raise DependencyOrder("templates", broken)
