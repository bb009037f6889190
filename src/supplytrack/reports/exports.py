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
