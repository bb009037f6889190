"""Reports assembled from the SQL aggregates: rates, scores, sorting, pages."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from supplytrack.core.errors import BadRequest, NotFound
from supplytrack.core.identity import Actor
from supplytrack.core.pagination import (
    decode_id_cursor,
    decode_offset,
    encode_id_cursor,
    encode_offset,
)
from supplytrack.core.time import today
from supplytrack.projects.models import Project
from supplytrack.reports.repository import ReportRepository, Window
from supplytrack.reports.scoring import rate, score
from supplytrack.tasks.enums import DONE_STATUSES

PERFORMANCE_SORTS = {
    "score": "score",
    "onTimeRate": "on_time_rate",
    "firstPassRate": "first_pass_rate",
    "openOverdue": "open_overdue",
    "tasksDue": "tasks_due",
    "supplierCode": "supplier_code",
}
AT_RISK_SHOWN = 10
TREND_MONTHS = 12


def _sorted(rows: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    name = sort.removeprefix("-")
    if name not in PERFORMANCE_SORTS:
        allowed = ", ".join(PERFORMANCE_SORTS)
        raise BadRequest(f"cannot sort by {name!r}; one of: {allowed}", code="INVALID_SORT")
    field = PERFORMANCE_SORTS[name]
    present = [row for row in rows if row[field] is not None]
    missing = [row for row in rows if row[field] is None]  # unrated: always last
    present.sort(key=lambda r: (r[field], r["supplier_id"]), reverse=sort.startswith("-"))
    return present + sorted(missing, key=lambda r: r["supplier_id"])


class ReportService:
    """Supplier performance and project status for one actor."""

    def __init__(self, session: Session, actor: Actor, zone: str) -> None:
        self.session = session
        self.actor = actor
        self.reports = ReportRepository(session, actor, zone, today(zone))

    def default_window(self) -> tuple[Any, Any]:
        """The last 365 days up to today."""
        return self.reports.today - timedelta(days=365), self.reports.today

    def supplier_performance(self, window: Window, min_completed: int) -> list[dict[str, Any]]:
        """Every supplier's row (unsorted); one pass over three aggregate queries."""
        p90 = {row.supplier_id: int(row.late) for row in self.reports.p90_days_late(window)}
        slips: dict[int, dict[str, int]] = defaultdict(dict)
        for row in self.reports.slips(window):
            slips[row.supplier_id][str(row.reason_code)] = int(row.slips)
        aggregates = self.reports.performance(window)
        names = self.reports.supplier_names([row.supplier_id for row in aggregates])
        rows = []
        for row in aggregates:
            counts = {k: int(getattr(row, k) or 0) for k in PERFORMANCE_COUNTS}
            rating = score(
                counts["on_time"],
                counts["submitted"],
                counts["first_pass"],
                counts["approved"],
                counts["open_overdue"],
                counts["tasks_due"],
                min_completed,
            )
            code, name = names.get(row.supplier_id, ("", ""))
            rows.append(
                {
                    "supplier_id": row.supplier_id,
                    "supplier_code": code,
                    "supplier_name": name,
                    "tasks_due": counts["tasks_due"],
                    "submitted": counts["submitted"],
                    "approved": counts["approved"],
                    "on_time_rate": rate(counts["on_time"], counts["submitted"]),
                    "first_pass_rate": rate(counts["first_pass"], counts["approved"]),
                    "late_submissions": counts["late"],
                    "avg_days_late": rate(counts["late_days"], counts["late"]),
                    "p90_days_late": p90.get(row.supplier_id),
                    "open_overdue": counts["open_overdue"],
                    "days_overdue": counts["days_overdue"],
                    "slips_by_reason": slips.get(row.supplier_id, {}),
                    "rating": "RATED" if rating.rated else "NOT_RATED",
                    "score": rating.value,
                }
            )
        return rows

    def performance_page(
        self, window: Window, min_completed: int, sort: str, cursor: str | None, limit: int | None
    ) -> tuple[list[Any], str | None]:
        """A sorted page of supplier performance (limit None: every row, for exports)."""
        rows = _sorted(self.supplier_performance(window, min_completed), sort)
        start = decode_offset(cursor)
        if limit is None:
            return rows[start:], None
        page = rows[start : start + limit]
        following = encode_offset(start + limit) if start + limit < len(rows) else None
        return page, following

    def project_status(
        self, project_id: int | None, cursor: str | None, limit: int | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Status of one visible project, or a page of all visible projects."""
        if project_id is not None:
            project = self.reports.project(project_id)
            if project is None:
                raise NotFound("project", project_id)
            chosen: Sequence[Project] = [project]
            following = None
        else:
            visible = self.reports.visible_project_ids()
            start = decode_offset(cursor)
            end = len(visible) if limit is None else start + limit
            ids = visible[start:end]
            following = encode_offset(end) if limit is not None and end < len(visible) else None
            chosen = self.reports.projects(ids)
        return self._status_of(chosen, project_id), following

    def _status_of(self, chosen: Sequence[Project], only: int | None) -> list[dict[str, Any]]:
        counts: dict[int, list[Any]] = defaultdict(list)
        for row in self.reports.project_counts(only):
            counts[row.project_id].append(row)
        suppliers = {r.project_id: int(r.suppliers) for r in self.reports.active_suppliers(only)}
        risky: dict[int, list[Any]] = defaultdict(list)
        for row in self.reports.suppliers_at_risk(only):
            risky[row.project_id].append(row)
        done: dict[tuple[int, int], Any] = {
            (r.project_id, r.task_template_id): r for r in self.reports.milestones(only)
        }
        templates: dict[int, list[Any]] = defaultdict(list)
        for template in self.reports.milestones_of([p.id for p in chosen]):
            templates[template.project_id].append(template)
        at_risk_ids = [r.supplier_id for rows in risky.values() for r in rows]
        names = self.reports.supplier_names(at_risk_ids)
        return [
            self._one(
                project,
                counts[project.id],
                suppliers.get(project.id, 0),
                risky[project.id],
                templates[project.id],
                done,
                names,
            )
            for project in chosen
        ]

    @staticmethod
    def _one(
        project: Project,
        counts: list[Any],
        suppliers: int,
        risky: list[Any],
        templates: list[Any],
        done: dict[tuple[int, int], Any],
        names: dict[int, tuple[str, str]],
    ) -> dict[str, Any]:
        total = sum(int(r.instances) for r in counts)
        complete = sum(int(r.instances) for r in counts if r.status in DONE_STATUSES)
        risky = sorted(
            risky,
            key=lambda r: (
                -int(r.overdue),
                -int(r.max_days_overdue),
                -int(r.past_sop),
                r.supplier_id,
            ),
        )
        return {
            "project_id": project.id,
            "code": project.code,
            "name": project.name,
            "status": project.status,
            "sop_date": project.sop_date,
            "active_suppliers": suppliers,
            "instances": total,
            "by_status": [
                {"status": str(r.status), "count": int(r.instances)}
                for r in sorted(counts, key=lambda r: str(r.status))
            ],
            "percent_complete": round(100 * complete / total, 2) if total else 0.0,
            "overdue": sum(int(r.overdue) for r in counts),
            "due_next_7_days": sum(int(r.due_7) for r in counts),
            "due_next_14_days": sum(int(r.due_14) for r in counts),
            "suppliers_at_risk": [
                {
                    "supplier_id": r.supplier_id,
                    "supplier_code": names.get(r.supplier_id, ("", ""))[0],
                    "overdue": int(r.overdue),
                    "max_days_overdue": int(r.max_days_overdue),
                    "past_sop": int(r.past_sop),
                }
                for r in risky[:AT_RISK_SHOWN]
            ],
            "milestones": [
                {
                    "task_template_id": t.id,
                    "name": t.name,
                    "canonical_due": t.canonical_due,
                    **{
                        k: int(getattr(done.get((project.id, t.id)), k, 0) or 0)
                        for k in ("done", "open", "late")
                    },
                }
                for t in templates
            ],
        }

    # A supplier's monthly trend -------------------------------------------------------

    def trend_window(self, months: int = TREND_MONTHS) -> tuple[date, date]:
        """The first day of the month ``months - 1`` months back, and today."""
        first = self.reports.today.replace(day=1)
        year, month = divmod(first.year * 12 + first.month - 1 - (months - 1), 12)
        return date(year, month + 1, 1), self.reports.today

    def supplier_trend(
        self,
        supplier_id: int,
        project_id: int | None,
        min_completed: int,
        months: int = TREND_MONTHS,
    ) -> list[dict[str, Any]]:
        """One supplier's figures per month of actualDue, the last ``months`` up to today.

        One grouped query gives supplier_performance's counts, rates, rating and score per
        month. Each month's figures are those supplier_performance gives for that month's window
        (its first to its last day, the current month up to today); a month without
        enough approvals is NOT_RATED, one without tasks has zeros.
        """
        start, end = self.trend_window(months)
        window = Window(start, end, project_id, supplier_id)
        found = {
            _as_date(row.month): row
            for row in self.reports.performance_by_month(window)
            if row.supplier_id == supplier_id
        }
        rows = []
        first = start
        for _ in range(months):
            following = _next_month(first)
            row = found.get(first)
            counts = {k: int(getattr(row, k, 0) or 0) for k in PERFORMANCE_COUNTS}
            rating = score(
                counts["on_time"],
                counts["submitted"],
                counts["first_pass"],
                counts["approved"],
                counts["open_overdue"],
                counts["tasks_due"],
                min_completed,
            )
            rows.append(
                {
                    "month": first,
                    "start": first,
                    "end": min(following - timedelta(days=1), end),
                    "tasks_due": counts["tasks_due"],
                    "submitted": counts["submitted"],
                    "approved": counts["approved"],
                    "on_time_rate": rate(counts["on_time"], counts["submitted"]),
                    "first_pass_rate": rate(counts["first_pass"], counts["approved"]),
                    "late_submissions": counts["late"],
                    "avg_days_late": rate(counts["late_days"], counts["late"]),
                    "open_overdue": counts["open_overdue"],
                    "days_overdue": counts["days_overdue"],
                    "rating": "RATED" if rating.rated else "NOT_RATED",
                    "score": rating.value,
                }
            )
            first = following
        return rows

    # One project's milestone-by-supplier matrix ---------------------------------------

    def project_matrix(
        self, project_id: int, cursor: str | None, limit: int | None
    ) -> dict[str, Any]:
        """A visible project's milestones and a page of its suppliers with their instances.

        Milestones in plan order; per supplier, its instance of each milestone (id, status,
        due, state); 404 for a project the actor cannot see. Three queries whatever the
        size: milestones, the page of assignments, their cells.
        """
        project = self.reports.project(project_id)
        if project is None:
            raise NotFound("project", project_id)
        milestones = [
            {"task_template_id": t.id, "name": t.name, "canonical_due": t.canonical_due}
            for t in self.reports.milestones_of([project_id])
        ]
        assignments = list(
            self.reports.project_suppliers(project_id, decode_id_cursor(cursor), limit)
        )
        following = None
        if limit is not None and len(assignments) > limit:
            assignments = assignments[:limit]
            following = encode_id_cursor(assignments[-1].assignment_id)
        ids = None if limit is None else [row.assignment_id for row in assignments]
        cells: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
        for cell in self.reports.matrix_cells(project_id, ids):
            cells[cell.supplier_project_id][cell.task_template_id] = {
                "instance_id": cell.id,
                "status": str(cell.status),
                "actual_due": _as_date(cell.actual_due),
                "state": str(cell.state),
            }
        rows = [
            {
                "assignment_id": row.assignment_id,
                "supplier_id": row.supplier_id,
                "supplier_code": row.supplier_code,
                "supplier_name": row.supplier_name,
                "supplier_status": str(row.supplier_status),
                "assignment_status": str(row.assignment_status),
                "cells": cells.get(row.assignment_id, {}),
            }
            for row in assignments
        ]
        return {
            "project": project,
            "milestones": milestones,
            "rows": rows,
            "next_cursor": following,
        }

    def project_facts(self, project_id: int) -> dict[str, Any]:
        """A visible project's project_status figures without its suppliers at risk.

        Instances, percent complete, overdue, due in 7 and 14 days, active suppliers, and per
        milestone done/open/late: what the project page shows, from two queries (one pass
        over the project's instances) instead of project_status' five.
        """
        if self.reports.project(project_id) is None:
            raise NotFound("project", project_id)
        rows = self.reports.milestone_counts(project_id)
        total = sum(int(row.instances) for row in rows)
        complete = sum(int(row.done) for row in rows)
        suppliers = {
            r.project_id: int(r.suppliers) for r in self.reports.active_suppliers(project_id)
        }
        return {
            "project_id": project_id,
            "active_suppliers": suppliers.get(project_id, 0),
            "instances": total,
            "percent_complete": round(100 * complete / total, 2) if total else 0.0,
            "overdue": sum(int(row.late) for row in rows),
            "due_next_7_days": sum(int(row.due_7) for row in rows),
            "due_next_14_days": sum(int(row.due_14) for row in rows),
            "milestones": {
                int(row.task_template_id): {
                    "done": int(row.done),
                    "open": int(row.open),
                    "late": int(row.late),
                }
                for row in rows
            },
        }


PERFORMANCE_COUNTS = (
    "tasks_due",
    "submitted",
    "approved",
    "on_time",
    "first_pass",
    "late",
    "late_days",
    "open_overdue",
    "days_overdue",
)


def _next_month(first: date) -> date:
    """The first day of the month after the one ``first`` opens."""
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def _as_date(value: Any) -> date:
    """A day from either engine (SQLite answers text)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
