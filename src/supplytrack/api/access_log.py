"""The logs of who did what: the audit log (admins and viewers) and the access log (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from supplytrack.api.deps import Admin, AuditReader, DbSession
from supplytrack.audit.access import AccessLogReader, access_log_of
from supplytrack.audit.models import AuditEntity, ChangeSource
from supplytrack.audit.schemas import AccessLogRead, AuditLogRead
from supplytrack.audit.service import AuditFilter, AuditService
from supplytrack.core.openapi import Cursor, Limit, QueryId, responses
from supplytrack.core.pagination import DEFAULT_LIMIT, decode_id_cursor, encode_id_cursor
from supplytrack.core.routing import UnitOfWorkRoute
from supplytrack.core.schemas import IsoInstant, Page

router = APIRouter(prefix="/api/access-log", tags=["access log"], route_class=UnitOfWorkRoute)
# Both logs are filtered by time the same way: ISO instants, UTC without a zone.
Since = Annotated[
    IsoInstant | None, Query(alias="from", description="From this instant, included.")
]
Until = Annotated[IsoInstant | None, Query(alias="to", description="Up to this instant, excluded.")]
audit_router = APIRouter(prefix="/api/audit-log", tags=["audit log"], route_class=UnitOfWorkRoute)


@router.get("", responses=responses(400, 401, 403, 422))
def list_access_log(
    request: Request,
    actor: Admin,
    session: DbSession,
    token_id: Annotated[QueryId, Query(alias="tokenId", description="Only this token's.")] = None,
    supplier_id: Annotated[
        QueryId, Query(alias="supplierId", description="Only this supplier's.")
    ] = None,
    route: Annotated[
        str | None, Query(max_length=200, description="Only this route template.")
    ] = None,
    status: Annotated[int | None, Query(ge=100, le=599, description="Only this status.")] = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[AccessLogRead]:
    """Requests of supplier tokens, newest first (this process's last second written first)."""
    access_log_of(request.app.state.database).flush()
    rows = AccessLogReader(session).page(
        token_id=token_id,
        supplier_id=supplier_id,
        route=route,
        status=status,
        since=since,
        until=until,
        before_id=decode_id_cursor(cursor),
        limit=limit,
    )
    items = [AccessLogRead.model_validate(row) for row in rows[:limit]]
    next_cursor = encode_id_cursor(items[-1].id) if len(rows) > limit else None
    return Page[AccessLogRead](items=items, next_cursor=next_cursor)


@audit_router.get("", responses=responses(400, 401, 403, 422))
def list_audit_log(
    actor: AuditReader,
    session: DbSession,
    entity: Annotated[
        AuditEntity | None, Query(description="PROJECT, SUPPLIER, ASSIGNMENT, TEMPLATE ...")
    ] = None,
    entity_id: Annotated[QueryId, Query(alias="id", description="Of this object only.")] = None,
    actor_id: Annotated[QueryId, Query(alias="actor", description="By this token only.")] = None,
    source: Annotated[ChangeSource | None, Query(description="API, BULK, SYSTEM ...")] = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[AuditLogRead]:
    """Every change but an instance's own fields (its history), newest first."""
    where = AuditFilter(entity, entity_id, actor_id, source, since, until)
    rows = AuditService(session, actor).log_page(
        where, before_id=decode_id_cursor(cursor), limit=limit
    )
    items = [AuditLogRead.model_validate(row) for row in rows[:limit]]
    next_cursor = encode_id_cursor(items[-1].id) if len(rows) > limit else None
    return Page[AuditLogRead](items=items, next_cursor=next_cursor)
