"""What the task pages share: the list's query, the instance forms' fields, notices, exports.

The list's filters are the API's (api/params.py task_filter and task_sort) read from a GET
form, where an empty control sends an empty value: blanks mean "not given", everything else is
checked by the same rules (ids 1..MAX_ID, statuses by name, days YYYY-MM-DD within the valid
range). The page's "due from/to" are inclusive, the API's dueAfter/dueBefore exclusive.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from starlette.datastructures import QueryParams

from supplytrack.core.errors import SupplyTrackError
from supplytrack.core.pagination import Sort, parse_sort
from supplytrack.core.schemas import MAX_ID
from supplytrack.core.time import in_day_range
from supplytrack.reports.exports import INSTANCES, respond
from supplytrack.reports.files import Column
from supplytrack.tasks.enums import DONE_STATUSES, TaskStatus
from supplytrack.tasks.models import TaskInstance
from supplytrack.tasks.reads import SORT_COLUMNS
from supplytrack.tasks.schemas import TaskInstanceUpdate

T = TaskInstance
PAGE_SIZE = 50
SOON_DAYS = 7
# The API's sorts the pages offer, and "supplier" (suppliers' instances together, by id).
PAGE_SORTS: dict[str, Any] = {
    "actualDue": T.actual_due,
    "status": T.status,
    "supplier": T.supplier_id,
    "id": T.id,
}
COMPILED_SORTS = frozenset(SORT_COLUMNS)  # the API's own list statement serves these
SORT_LABELS = {"id": "ID", "actualDue": "Due", "status": "Status", "supplier": "Supplier"}
NOTICES = {
    "status": "The status was changed.",
    "notes": "The notes were saved.",
    "due": "The due date was moved.",
}
_BACK = re.compile(r"^/(portal|tasks(/[1-9][0-9]{0,9})?)$")
AS_OF_COLUMNS = [
    Column("id", lambda row: row["id"], "int"),
    Column("projectCode", lambda row: row["project_code"]),
    Column("supplierCode", lambda row: row["supplier_code"]),
    Column("supplierName", lambda row: row["supplier_name"]),
    Column("milestone", lambda row: row["milestone"]),
    Column("status", lambda row: row["status"]),
    Column("actualDue", lambda row: row["actual_due"], "date"),
    Column("overdue", lambda row: row["overdue"]),
    Column("atRisk", lambda row: row["at_risk"]),
    Column("asOf", lambda row: row["as_of"], "date"),
]


def page_sort(value: str) -> Sort:
    """A sort of the pages' lists: a name of PAGE_SORTS, '-' for descending (400 otherwise)."""
    return parse_sort(value, PAGE_SORTS, T.id)


def invalid(name: str, message: str) -> SupplyTrackError:
    """A 422 naming the control (the value is never echoed)."""
    return SupplyTrackError(f"{name}: {message}", status=422, code="VALIDATION_ERROR")


@dataclass(frozen=True)
class ListQuery:
    """The list's filters, sort and position, as read from the page's address."""

    project_id: int | None = None
    supplier: str = ""  # a supplier's code (staff only)
    statuses: tuple[TaskStatus, ...] = ()
    overdue: bool = False
    due_from: date | None = None
    due_to: date | None = None
    as_of: date | None = None
    sort: str = "actualDue"
    cursor: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def order(self) -> Sort:
        """The sort as the services take it."""
        return page_sort(self.sort)

    @property
    def sort_name(self) -> str:
        """The sorted column's name, without the direction."""
        return self.sort.removeprefix("-")

    @property
    def descending(self) -> bool:
        """Whether the sort is descending."""
        return self.sort.startswith("-")

    def filter_values(self, supplier_id: int | None) -> dict[str, Any]:
        """Keyword arguments of TaskService.filter_of (inclusive days made exclusive)."""
        return {
            "project_id": self.project_id,
            "supplier_id": supplier_id,
            "statuses": self.statuses,
            "overdue": True if self.overdue else None,
            "due_after": self.due_from - timedelta(days=1) if self.due_from else None,
            "due_before": self.due_to + timedelta(days=1) if self.due_to else None,
        }

    def pairs(self) -> list[tuple[str, str]]:
        """The query string's (name, value) pairs of what is given."""
        found: list[tuple[str, str]] = []
        if self.project_id is not None:
            found.append(("projectId", str(self.project_id)))
        if self.supplier:
            found.append(("supplier", self.supplier))
        found.extend(("status", status.value) for status in self.statuses)
        if self.overdue:
            found.append(("overdue", "1"))
        for name, day in (("dueFrom", self.due_from), ("dueTo", self.due_to)):
            if day is not None:
                found.append((name, day.isoformat()))
        if self.as_of is not None:
            found.append(("asOf", self.as_of.isoformat()))
        found.append(("sort", self.sort))
        if self.cursor:
            found.append(("cursor", self.cursor))
        found.extend(self.extra.items())
        return found

    def link(self, **changes: Any) -> str:
        """This list's query string with some parts changed (a cursor never survives a sort)."""
        changed = replace(self, **changes)
        return urlencode(changed.pairs())

    def sort_link(self, name: str) -> str:
        """The header link of a column: sort by it, or turn its direction around."""
        target = f"-{name}" if self.sort == name else name
        return self.link(sort=target, cursor=None)

    def aria_sort(self, name: str) -> str | None:
        """The column's aria-sort when the list is sorted by it."""
        if self.sort_name != name:
            return None
        return "descending" if self.descending else "ascending"

    def export_link(self, kind: str) -> str:
        """The download of every row of this list (no cursor: all of them)."""
        return self.link(cursor=None, extra={"format": kind})


def _value(params: QueryParams, name: str, limit: int = 100) -> str:
    values = params.getlist(name)
    value = values[-1].strip() if values else ""
    if len(value) > limit:
        raise invalid(name, f"longer than {limit} characters")
    return value


def parse_id(value: str, name: str) -> int | None:
    """An id from a control (blank: none)."""
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= MAX_ID:
        raise invalid(name, "must be a number from 1")
    return int(value)


def parse_day(value: str, name: str) -> date | None:
    """A day YYYY-MM-DD within the valid range (blank: none)."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else None
    except ValueError:
        day = None
    if day is None or not in_day_range(day):
        raise invalid(name, "must be a day written YYYY-MM-DD")
    return day


def parse_statuses(values: Iterable[str]) -> tuple[TaskStatus, ...]:
    """Statuses by name (blanks ignored), each once, in the machine's order."""
    chosen: set[TaskStatus] = set()
    for value in values:
        if not value.strip():
            continue
        try:
            chosen.add(TaskStatus(value.strip()))
        except ValueError as error:
            raise invalid("status", "not a status") from error
    return tuple(status for status in TaskStatus if status in chosen)


def parse_list_query(params: QueryParams) -> ListQuery:
    """The list's query from the address (422 for a value the API would refuse)."""
    sort = _value(params, "sort", 40) or "actualDue"
    page_sort(sort)  # 400 INVALID_SORT, as the API answers
    return ListQuery(
        project_id=parse_id(_value(params, "projectId"), "projectId"),
        supplier=_value(params, "supplier", 64),
        statuses=parse_statuses(params.getlist("status")[:7]),
        overdue=_value(params, "overdue") not in ("", "0", "false"),
        due_from=parse_day(_value(params, "dueFrom"), "dueFrom"),
        due_to=parse_day(_value(params, "dueTo"), "dueTo"),
        as_of=parse_day(_value(params, "asOf"), "asOf"),
        sort=sort,
        cursor=_value(params, "cursor", 1000) or None,
    )


def export_kind(params: QueryParams) -> str | None:
    """``csv`` or ``xlsx`` when a download is asked for (422 for anything else)."""
    kind = _value(params, "format")
    if kind in ("", "html"):
        return None
    if kind not in ("csv", "xlsx"):
        raise invalid("format", "csv or xlsx")
    return kind


def respond_rows(
    kind: str, rows: Iterator[dict[str, Any]], *, as_of: bool = False
) -> StreamingResponse:
    """The CSV or XLSX download of rows (streamed: rows is a lazy iterator)."""
    columns = AS_OF_COLUMNS if as_of else INSTANCES
    return respond(kind, columns, rows, "task-instances-as-of" if as_of else "task-instances")


def status_class(status: TaskStatus, overdue: bool) -> str:
    """The badge class of a status: late, done or open (the badge says the words too)."""
    if overdue:
        return "late"
    return "done" if status in DONE_STATUSES else "open"


def notice_of(params: QueryParams) -> str | None:
    """The sentence of a fixed notice code (never user text)."""
    return NOTICES.get(params.get("notice", ""))


def back_of(fields: dict[str, str], default: str) -> str:
    """Where a form returns to: only /portal, /tasks or /tasks/{id} (else ``default``)."""
    back = fields.get("back", "").strip()
    return back if _BACK.fullmatch(back) else default


def version_of(fields: dict[str, str]) -> int:
    """The instance version the form was rendered with (422 when missing or not a number)."""
    value = fields.get("version", "").strip()
    if not value.isdigit() or len(value) > 18:
        raise invalid("version", "missing; open the page again")
    return int(value)


def update_command(values: dict[str, Any]) -> TaskInstanceUpdate:
    """The PATCH body of a form, validated exactly as the API validates it (422 otherwise)."""
    try:
        return TaskInstanceUpdate.model_validate(values)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'form'}: {item['msg']}"
            for item in error.errors()
        )
        raise SupplyTrackError(
            f"the form is not valid ({problems})", status=422, code="VALIDATION_ERROR"
        ) from error
