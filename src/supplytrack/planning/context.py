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
        """From (id, supplier_project_id, supplier_id, task_template_id, actual_due, status)."""
        by_key = {(row[1], row[3]): row[0] for row in rows}
        graph = {
            row[0]: [
                by_key[(row[1], prerequisite)]
                for prerequisite in template_graph.get(row[3], ())
                if (row[1], prerequisite) in by_key
            ]
            for row in rows
        }
        return cls(
            dates={row[0]: row[4] for row in rows},
            graph=graph,
            template_of={row[0]: row[3] for row in rows},
            supplier_project_of={row[0]: row[1] for row in rows},
            supplier_of={row[0]: row[2] for row in rows},
            status_of={row[0]: row[5] for row in rows},
        )
