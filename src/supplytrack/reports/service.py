"""Reports assembled from the SQL aggregates: rates, scores, sorting, pages."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from supplytrack.core.errors import BadRequest, NotFound
from supplytrack.core.identity import Actor
from supplytrack.core.pagination import decode_offset, encode_offset
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
            counts = {
                k: int(getattr(row, k) or 0)
                for k in (
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
            }
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
