"""HTTP routes of bulk operations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import Field

from supplytrack.auth.dependencies import DbSession, StaffReader
from supplytrack.bulk.dependencies import BulkActor, IdempotencyKeyHeader, date_change_query
from supplytrack.bulk.idempotency import Idempotency
from supplytrack.bulk.schemas import (
    BulkOperationRead,
    BulkStatusResult,
    BulkStatusUpdate,
    DateChange,
    DateChangeApply,
    DateChangeResult,
    DatePreview,
)
from supplytrack.bulk.service import BulkService
from supplytrack.core.openapi import PathId, responses
from supplytrack.core.routing import UnitOfWorkRoute
from supplytrack.core.schemas import Reason, WriteModel

router = APIRouter(tags=["bulk operations"], route_class=UnitOfWorkRoute)
_QUEUED: dict[int | str, dict[str, Any]] = {202: {"description": "Queued as a job (see jobId)."}}


class UndoRequest(WriteModel):
    """Why the operation is undone."""

    reason: Reason | None = Field(None, description="Why (audit trail).")


def _answer(idempotency: Idempotency, response: Response, payload: Any, queued: bool) -> Any:
    code = status.HTTP_202_ACCEPTED if queued else status.HTTP_200_OK
    response.status_code = code
    idempotency.remember(code, payload.model_dump(mode="json", by_alias=True))
    return payload


@router.post(
    "/api/task-instances/bulk-status-update",
    responses={**responses(403, 404, 409, 422, 429), **_QUEUED},
)
def bulk_status_update(
    body: BulkStatusUpdate,
    request: Request,
    response: Response,
    actor: BulkActor,
    session: DbSession,
    idempotency_key: IdempotencyKeyHeader = None,
) -> BulkStatusResult:
    """Move many instances to one status through the status machine (atomic by default)."""
    raw = body.model_dump()
    idempotency = Idempotency(session, actor, idempotency_key, request, raw)
    replay = idempotency.replay()
    if replay is not None:
        return JSONResponse(replay[1], status_code=replay[0])  # type: ignore[return-value]
    result = BulkService(session, actor).status_update(raw)
    payload = BulkStatusResult.model_validate(result)
    return _answer(idempotency, response, payload, result["job_id"] is not None)  # type: ignore[no-any-return]


@router.get("/api/projects/{project_id}/bulk-update-dates", responses=responses(403, 404, 422, 429))
def preview_dates(
    project_id: PathId,
    actor: BulkActor,
    session: DbSession,
    change: Annotated[DateChange, Depends(date_change_query)],
) -> DatePreview:
    """Preview a date change: counts, a sample of moves, every rule it would break."""
    return DatePreview.model_validate(
        BulkService(session, actor).preview_dates(project_id, change.model_dump())
    )


@router.post(
    "/api/projects/{project_id}/bulk-update-dates",
    responses={**responses(403, 404, 409, 422, 429), **_QUEUED},
)
def apply_dates(
    project_id: PathId,
    body: DateChangeApply,
    request: Request,
    response: Response,
    actor: BulkActor,
    session: DbSession,
    idempotency_key: IdempotencyKeyHeader = None,
) -> DateChangeResult:
    """Apply a date change; 409 when the outcome differs from the preview it names."""
    raw = body.model_dump()
    idempotency = Idempotency(session, actor, idempotency_key, request, raw)
    replay = idempotency.replay()
    if replay is not None:
        return JSONResponse(replay[1], status_code=replay[0])  # type: ignore[return-value]
    token = raw.pop("preview_token")
    result = BulkService(session, actor).apply_dates(project_id, raw, token)
    payload = DateChangeResult.model_validate(result)
    return _answer(idempotency, response, payload, result["job_id"] is not None)  # type: ignore[no-any-return]


@router.get("/api/bulk-operations/{operation_id}", responses=responses(403, 404, 422))
def get_operation(
    operation_id: PathId, actor: StaffReader, session: DbSession
) -> BulkOperationRead:
    """What a bulk operation asked for and changed."""
    return BulkOperationRead.model_validate(BulkService(session, actor).get(operation_id))


@router.post(
    "/api/bulk-operations/{operation_id}/undo", responses=responses(403, 404, 409, 422, 429)
)
def undo_operation(
    operation_id: PathId,
    actor: BulkActor,
    session: DbSession,
    body: Annotated[UndoRequest | None, Body()] = None,
) -> BulkOperationRead:
    """Revert a bulk operation whole (409 listing rows changed since); the undo is audited."""
    reason = body.reason if body is not None else None
    return BulkOperationRead.model_validate(BulkService(session, actor).undo(operation_id, reason))
