"""Query and header parameters of the API's lists and bulk routes (sorts, filters, keys)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Header, Query
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from supplytrack.audit.models import ReasonCode
from supplytrack.bulk.schemas import DateChange
from supplytrack.core.openapi import QueryId
from supplytrack.core.pagination import Sort, parse_sort
from supplytrack.core.schemas import MAX_ID, IsoDate
from supplytrack.projects.models import Project
from supplytrack.projects.repository import SORTABLE as PROJECT_SORTS
from supplytrack.suppliers.models import Supplier
from supplytrack.suppliers.repository import SORTABLE as SUPPLIER_SORTS
from supplytrack.tasks.enums import TaskStatus
from supplytrack.tasks.models import TaskInstance
from supplytrack.tasks.repository import SORTABLE as INSTANCE_SORTS
from supplytrack.tasks.repository import TaskFilter
from supplytrack.templates.models import TaskTemplate
from supplytrack.templates.repository import SORTABLE as TEMPLATE_SORTS


async def project_sort(
    sort: Annotated[
        str, Query(max_length=40, description="id, code, name, createdAt, updatedAt; '-' desc.")
    ] = "id",
) -> Sort:
    """The sort order of the projects list."""
    return parse_sort(sort, PROJECT_SORTS, Project.id)


async def supplier_sort(
    sort: Annotated[
        str, Query(max_length=40, description="id, code, name, createdAt, updatedAt; '-' desc.")
    ] = "id",
) -> Sort:
    """The sort order of the suppliers list."""
    return parse_sort(sort, SUPPLIER_SORTS, Supplier.id)


async def template_sort(
    sort: Annotated[
        str, Query(max_length=40, description="id, sequence, canonicalDue, name; '-' desc.")
    ] = "sequence",
) -> Sort:
    """The sort order of the templates list."""
    return parse_sort(sort, TEMPLATE_SORTS, TaskTemplate.id)


async def task_sort(
    sort: Annotated[
        str,
        Query(max_length=40, description="id, actualDue, status, createdAt, updatedAt; '-' desc."),
    ] = "id",
) -> Sort:
    """The sort order of the instance list."""
    return parse_sort(sort, INSTANCE_SORTS, TaskInstance.id)


async def task_filter(
    project_id: Annotated[
        QueryId, Query(alias="projectId", description="Only of this project.")
    ] = None,
    supplier_id: Annotated[
        QueryId, Query(alias="supplierId", description="Only of this supplier.")
    ] = None,
    supplier_project_id: Annotated[
        QueryId, Query(alias="supplierProjectId", description="Only of this assignment.")
    ] = None,
    task_template_id: Annotated[
        QueryId, Query(alias="taskTemplateId", description="Only of this milestone.")
    ] = None,
    status: Annotated[
        list[TaskStatus] | None, Query(max_length=7, description="One or more statuses.")
    ] = None,
    overdue: Annotated[bool | None, Query(description="Only (or no) overdue instances.")] = None,
    due_before: Annotated[
        IsoDate | None, Query(alias="dueBefore", description="actualDue < this date.")
    ] = None,
    due_after: Annotated[
        IsoDate | None, Query(alias="dueAfter", description="actualDue > this date.")
    ] = None,
) -> TaskFilter:
    """The filters of the instance list."""
    return TaskFilter(
        project_id=project_id,
        supplier_id=supplier_id,
        supplier_project_id=supplier_project_id,
        task_template_id=task_template_id,
        statuses=tuple(sorted(set(status or ()))),
        overdue=overdue,
        due_before=due_before,
        due_after=due_after,
    )


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[A-Za-z0-9._:-]{1,200}$",
        description="Retries with the same key and body get the first answer.",
    ),
]
QueryIds = Annotated[list[Annotated[int, Query(ge=1, le=MAX_ID)]] | None, Query(max_length=1000)]


async def date_change_query(
    shift_days: Annotated[
        int | None, Query(alias="shiftDays", ge=-3650, le=3650, description="Move by N days.")
    ] = None,
    shift_working_days: Annotated[
        int | None,
        Query(alias="shiftWorkingDays", ge=-3650, le=3650, description="Move by N working days."),
    ] = None,
    new_date: Annotated[
        IsoDate | None, Query(alias="newDate", description="Set this date (one templateId).")
    ] = None,
    template_ids: Annotated[
        QueryIds, Query(alias="templateIds", description="Only these milestones.")
    ] = None,
    supplier_ids: Annotated[
        QueryIds, Query(alias="supplierIds", description="Only these suppliers.")
    ] = None,
    statuses: Annotated[
        list[TaskStatus] | None, Query(max_length=7, description="Only in these statuses.")
    ] = None,
    due_from: Annotated[
        IsoDate | None, Query(alias="dueFrom", description="Only due on or after.")
    ] = None,
    due_to: Annotated[
        IsoDate | None, Query(alias="dueTo", description="Only due on or before.")
    ] = None,
    cascade: Annotated[bool, Query(description="Move downstream milestones too.")] = False,
    reason_code: Annotated[
        ReasonCode | None, Query(alias="reasonCode", description="Why the dates move.")
    ] = None,
    reason: Annotated[str | None, Query(max_length=2000, description="Why, in words.")] = None,
) -> DateChange:
    """The date change of a preview, from the query string."""
    values: dict[str, object] = {
        "shiftDays": shift_days,
        "shiftWorkingDays": shift_working_days,
        "newDate": new_date.isoformat() if isinstance(new_date, date) else None,
        "templateIds": template_ids or [],
        "supplierIds": supplier_ids or [],
        "statuses": statuses or [],
        "cascade": cascade,
        "dueFrom": due_from.isoformat() if due_from else None,
        "dueTo": due_to.isoformat() if due_to else None,
        "reasonCode": reason_code,
        "reason": reason,
    }
    try:
        return DateChange.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("query", *e["loc"])} for e in error.errors()]
        ) from error
