"""What the date rules of one project need, loaded once per operation: plain values only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from supplytrack.planning.workdays import WorkCalendar
from supplytrack.tasks.enums import TaskStatus


@dataclass(frozen=True, slots=True)
class ProjectWindow:
    """A project's id and its start..SOP window (either end may be open)."""

    id: int
    start_date: date | None
    sop_date: date | None


@dataclass(frozen=True, slots=True)
class PlanningContext:
    """A project's window, calendar and milestone graph, and the day the rules take as today."""

    project: ProjectWindow
    calendar: WorkCalendar
    # template id -> ids of its prerequisites, and every template's planned date
    template_graph: dict[int, list[int]]
    template_dates: dict[int, date]
    today: date


@dataclass(frozen=True, slots=True)
class InstanceGraph:
    """Open instances of (part of) a project, each supplier's copy of the milestone graph.

    APPROVED and WAIVED instances are history: they are neither moved nor in the way.
    """

    dates: dict[int, date]
    # instance id -> ids of its prerequisite instances (same assignment)
    graph: dict[int, list[int]]
    template_of: dict[int, int]
    supplier_project_of: dict[int, int]
    supplier_of: dict[int, int]
    status_of: dict[int, TaskStatus]

    @classmethod
    def of_rows(
        cls,
        rows: Sequence[Sequence[Any]],
        template_graph: dict[int, list[int]],
    ) -> InstanceGraph:
        """From (id, supplier_project_id, supplier_id, task_template_id, actual_due, status).

        One pass over the rows (a cascade reads 80,000 of them); the status may be its text.
        """
        by_key = {(row[1], row[3]): row[0] for row in rows}
        graph: dict[int, list[int]] = {}
        dates: dict[int, date] = {}
        template_of: dict[int, int] = {}
        supplier_project_of: dict[int, int] = {}
        supplier_of: dict[int, int] = {}
        status_of: dict[int, TaskStatus] = {}
        no_prerequisites: tuple[int, ...] = ()
        for node, assignment, supplier, template, due, status in rows:
            prerequisites = template_graph.get(template, no_prerequisites)
            graph[node] = (
                [by_key[(assignment, p)] for p in prerequisites if (assignment, p) in by_key]
                if prerequisites
                else []
            )
            dates[node] = due
            template_of[node] = template
            supplier_project_of[node] = assignment
            supplier_of[node] = supplier
            status_of[node] = TaskStatus(status)
        return cls(dates, graph, template_of, supplier_project_of, supplier_of, status_of)
