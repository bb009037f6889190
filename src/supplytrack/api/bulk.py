"""HTTP routes of bulk operations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy.orm import Session

from supplytrack.api.deps import AppSettings, BulkActor, DbSession, StaffReader, flow_of
from supplytrack.api.params import IdempotencyKeyHeader, date_change_query
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
from supplytrack.core.identity import Actor
from supplytrack.core.openapi import PathId, responses
from supplytrack.core.routing import UnitOfWorkRoute
from supplytrack.core.schemas import Reason, WriteModel
from supplytrack.core.settings import Settings
from supplytrack.flows.bulk import BulkFlows
from supplytrack.jobs.worker import job_queue

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


def _bulk(request: Request, session: Session, actor: Actor, settings: Settings) -> BulkFlows:
    return BulkFlows(flow_of(session, actor, settings), job_queue(request.app.state.database))


def _idempotency(
    request: Request, session: Session, actor: Actor, key: str | None, body: Any
) -> Idempotency:
    return Idempotency(
        session, actor, key, request.method, request.url.path, body.model_dump(mode="json")
    )


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
    settings: AppSettings,
    idempotency_key: IdempotencyKeyHeader = None,
) -> BulkStatusResult:
    """Move many instances to one status through the status machine (atomic by default)."""
    idempotency = _idempotency(request, session, actor, idempotency_key, body)
    replay = idempotency.replay()
    if replay is not None:
        return JSONResponse(replay[1], status_code=replay[0])  # type: ignore[return-value]
    result = _bulk(request, session, actor, settings).status_update(body)
    payload = BulkStatusResult.model_validate(result)
    return _answer(idempotency, response, payload, result["job_id"] is not None)  # type: ignore[no-any-return]


@router.get("/api/projects/{project_id}/bulk-update-dates", responses=responses(403, 404, 422, 429))
def preview_dates(
    project_id: PathId,
    actor: BulkActor,
    session: DbSession,
    settings: AppSettings,
    change: Annotated[DateChange, Depends(date_change_query)],
) -> DatePreview:
    """Preview a date change: counts, a sample of moves, every rule it would break."""
    flows = BulkFlows(flow_of(session, actor, settings))
    return DatePreview.model_validate(flows.preview_dates(project_id, change))


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
    settings: AppSettings,
    idempotency_key: IdempotencyKeyHeader = None,
) -> DateChangeResult:
    """Apply a date change; 409 when the outcome differs from the preview it names."""
    idempotency = _idempotency(request, session, actor, idempotency_key, body)
    replay = idempotency.replay()
    if replay is not None:
        return JSONResponse(replay[1], status_code=replay[0])  # type: ignore[return-value]
    change = DateChange.model_validate(
        body.model_dump(mode="json", by_alias=True, exclude={"preview_token"})
    )
    result = _bulk(request, session, actor, settings).apply_dates(
        project_id, change, body.preview_token
    )
    payload = DateChangeResult.model_validate(result)
    return _answer(idempotency, response, payload, result["job_id"] is not None)  # type: ignore[no-any-return]


@router.get("/api/bulk-operations/{operation_id}", responses=responses(403, 404, 422))
def get_operation(
    operation_id: PathId, actor: StaffReader, session: DbSession
) -> BulkOperationRead:
    """What a bulk operation asked for and changed."""
    return BulkOperationRead.model_validate(BulkService(session, actor).view(operation_id))


@router.post(
    "/api/bulk-operations/{operation_id}/undo", responses=responses(403, 404, 409, 422, 429)
)
def undo_operation(
    operation_id: PathId,
    actor: BulkActor,
    session: DbSession,
    settings: AppSettings,
    body: Annotated[UndoRequest | None, Body()] = None,
) -> BulkOperationRead:
    """Revert a bulk operation whole (409 listing rows changed since); the undo is audited."""
    reason = body.reason if body is not None else None
    flows = BulkFlows(flow_of(session, actor, settings))
    return BulkOperationRead.model_validate(flows.undo(operation_id, reason))
