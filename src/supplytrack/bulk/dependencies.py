"""Dependencies of the bulk routes: rate limit, Idempotency-Key, the preview's query."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from supplytrack.audit.models import ReasonCode
from supplytrack.auth.actor import Actor
from supplytrack.auth.dependencies import Manager
from supplytrack.bulk.schemas import DateChange
from supplytrack.core.ratelimit import RateLimiter
from supplytrack.core.schemas import MAX_ID, IsoDate
from supplytrack.tasks.enums import TaskStatus


def rate_limited_manager(request: Request, actor: Manager) -> Actor:
    """A manager or admin, within the bulk rate limit of its token (429 beyond)."""
    limiter: RateLimiter = request.app.state.rate_limiter
    limiter.hit(f"bulk:{actor.token_id}")
    return actor


BulkActor = Annotated[Actor, Depends(rate_limited_manager)]
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
