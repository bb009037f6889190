"""What each report exports, column by column, and the streaming response that carries it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from fastapi.responses import StreamingResponse

from supplytrack.reports.files import (
    Column,
    csv_rows_stream,
    csv_stream,
    file_stream,
    xlsx_file,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _key(name: str) -> Any:
    return lambda row: row[name]


PERFORMANCE = [
    Column("supplierId", _key("supplier_id"), "int"),
    Column("supplierCode", _key("supplier_code")),
    Column("supplierName", _key("supplier_name")),
    Column("tasksDue", _key("tasks_due"), "int"),
    Column("submitted", _key("submitted"), "int"),
    Column("approved", _key("approved"), "int"),
    Column("onTimeRate", _key("on_time_rate"), "float"),
    Column("firstPassRate", _key("first_pass_rate"), "float"),
    Column("lateSubmissions", _key("late_submissions"), "int"),
    Column("avgDaysLate", _key("avg_days_late"), "float"),
    Column("p90DaysLate", _key("p90_days_late"), "int"),
    Column("openOverdue", _key("open_overdue"), "int"),
    Column("daysOverdue", _key("days_overdue"), "int"),
    Column(
        "slipsByReason",
        lambda row: ";".join(
            f"{code}={count}" for code, count in sorted(row["slips_by_reason"].items())
        ),
    ),
    Column("rating", _key("rating")),
    Column("score", _key("score"), "int"),
]
PROJECT_STATUS = [
    Column("projectId", _key("project_id"), "int"),
    Column("projectCode", _key("code")),
    Column("projectName", _key("name")),
    Column("activeSuppliers", _key("active_suppliers"), "int"),
    Column("percentComplete", _key("percent_complete"), "float"),
    Column("overdue", _key("overdue"), "int"),
    Column("dueNext7Days", _key("due_next_7_days"), "int"),
    Column("dueNext14Days", _key("due_next_14_days"), "int"),
    Column("milestoneId", lambda row: row["milestone"]["task_template_id"], "int"),
    Column("milestone", lambda row: row["milestone"]["name"]),
    Column("canonicalDue", lambda row: row["milestone"]["canonical_due"], "date"),
    Column("suppliersDone", lambda row: row["milestone"]["done"], "int"),
    Column("suppliersOpen", lambda row: row["milestone"]["open"], "int"),
    Column("suppliersLate", lambda row: row["milestone"]["late"], "int"),
]
INSTANCES = [
    Column("id", _key("id"), "int"),
    Column("projectCode", _key("project_code")),
    Column("supplierCode", _key("supplier_code")),
    Column("supplierName", _key("supplier_name")),
    Column("milestone", _key("milestone")),
    Column("status", _key("status")),
    Column("canonicalDue", _key("canonical_due"), "date"),
    Column("actualDue", _key("actual_due"), "date"),
    Column("overdue", _key("overdue")),
    Column("submittedAt", _key("submitted_at"), "datetime"),
    Column("completedAt", _key("completed_at"), "datetime"),
]


def respond_instances(
    kind: str, rows: Iterable[Any], csv_rows: Iterable[Sequence[Any]]
) -> StreamingResponse:
    """The instance export: CSV from ready cells (fast), XLSX from typed rows."""
    if kind == "xlsx":
        return respond(kind, INSTANCES, rows, "task-instances")
    return StreamingResponse(
        csv_rows_stream([column.header for column in INSTANCES], csv_rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="task-instances.csv"'},
    )


def respond(
    kind: str, columns: Sequence[Column], rows: Iterable[Any], name: str
) -> StreamingResponse:
    """A CSV or XLSX attachment of ``rows`` (a lazy iterable: memory stays flat)."""
    if kind == "csv":
        body = csv_stream(columns, rows)
        media, filename = "text/csv; charset=utf-8", f"{name}.csv"
    else:
        body = file_stream(xlsx_file(columns, rows, name))
        media, filename = XLSX, f"{name}.xlsx"
    return StreamingResponse(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# Compliance reports (reports/compliance.py): the JSON rows' fields, one column each.
CHANGES = [
    Column("periodStart", _key("period_start"), "date"),
    Column("actorId", _key("actor_id"), "int"),
    Column("actor", _key("actor")),
    Column("instanceChanges", _key("instance_changes"), "int"),
    Column("otherChanges", _key("other_changes"), "int"),
    Column("changes", _key("changes"), "int"),
]
DUE_DATE_CHANGES = [
    Column("id", _key("id"), "int"),
    Column("flags", lambda row: ";".join(row["flags"])),
    Column("taskInstanceId", _key("task_instance_id"), "int"),
    Column("projectId", _key("project_id"), "int"),
    Column("projectCode", _key("project_code")),
    Column("sopDate", _key("sop_date"), "date"),
    Column("supplierId", _key("supplier_id"), "int"),
    Column("supplierCode", _key("supplier_code")),
    Column("milestoneId", _key("task_template_id"), "int"),
    Column("milestone", _key("milestone")),
    Column("oldDue", _key("old_due"), "date"),
    Column("newDue", _key("new_due"), "date"),
    Column("changedAt", _key("changed_at"), "datetime"),
    Column("actorId", _key("actor_id"), "int"),
    Column("actor", _key("actor")),
    Column("source", _key("source")),
    Column("reasonCode", _key("reason_code")),
    Column("reason", _key("reason")),
]
APPROVALS = [
    Column("actorId", _key("actor_id"), "int"),
    Column("actor", _key("actor")),
    Column("approvals", _key("approvals"), "int"),
    Column("rejections", _key("rejections"), "int"),
    Column("firstAt", _key("first_at"), "datetime"),
    Column("lastAt", _key("last_at"), "datetime"),
    Column("instances", _key("instances"), "int"),
]
APPROVED_WITH_OPEN_PREREQUISITES = [
    Column("approvalId", _key("approval_id"), "int"),
    Column("approvedAt", _key("approved_at"), "datetime"),
    Column("actorId", _key("actor_id"), "int"),
    Column("actor", _key("actor")),
    Column("source", _key("source")),
    Column("taskInstanceId", _key("task_instance_id"), "int"),
    Column("projectId", _key("project_id"), "int"),
    Column("supplierId", _key("supplier_id"), "int"),
    Column("supplierCode", _key("supplier_code")),
    Column("milestone", _key("milestone")),
    Column("prerequisiteId", _key("prerequisite_id"), "int"),
    Column("prerequisiteMilestone", _key("prerequisite_milestone")),
    Column("prerequisiteStatus", _key("prerequisite_status")),
]
SUPPLIER_ACCESS = [
    Column("periodStart", _key("period_start"), "date"),
    Column("supplierId", _key("supplier_id"), "int"),
    Column("supplierCode", _key("supplier_code")),
    Column("supplierName", _key("supplier_name")),
    Column("requests", _key("requests"), "int"),
    Column("tokens", _key("tokens"), "int"),
    Column("refused", _key("refused"), "int"),
    Column("firstAt", _key("first_at"), "datetime"),
    Column("lastAt", _key("last_at"), "datetime"),
]
OVERDUE_AGING = [
    Column("supplierId", _key("supplier_id"), "int"),
    Column("supplierCode", _key("supplier_code")),
    Column("supplierName", _key("supplier_name")),
    Column("days1To7", _key("days_1_to_7"), "int"),
    Column("days8To30", _key("days_8_to_30"), "int"),
    Column("days31To90", _key("days_31_to_90"), "int"),
    Column("daysOver90", _key("days_over_90"), "int"),
    Column("total", _key("total"), "int"),
    Column("oldestDays", _key("oldest_days"), "int"),
    Column("oldestDue", _key("oldest_due"), "date"),
]
