"""API shapes of the audit trail."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from supplytrack.audit.models import AuditEntity, ChangeSource, HistoryField, ReasonCode
from supplytrack.core.schemas import ReadModel


class HistoryRead(ReadModel):
    """One recorded change of one field of a task instance."""

    id: int = Field(description="History row id (increasing with time).")
    task_instance_id: int = Field(description="The instance that changed.")
    field: HistoryField = Field(description="STATUS, ACTUAL_DUE or NOTES.")
    old_value: str | None = Field(description="Value before the change.")
    new_value: str | None = Field(description="Value after the change.")
    changed_at: datetime = Field(description="When (UTC).")
    actor_id: int | None = Field(description="Token id of who changed it (null for system).")
    actor: str = Field(description="role:name of who changed it.")
    reason: str | None = Field(description="Why.")
    source: ChangeSource = Field(description="API, BULK, CASCADE, SYSTEM or IMPORT.")
    bulk_operation_id: int | None = Field(description="The bulk operation it was part of.")
    request_id: str | None = Field(description="The request that made the change.")
    reason_code: ReasonCode | None = Field(description="Why a due date moved.")
    change_id: str | None = Field(
        description="Shared by every row of one change (e.g. a move and its cascade)."
    )


class AccessLogRead(ReadModel):
    """One request of a logged token: who asked for what, and what they got."""

    id: int = Field(description="Entry id (newest first in lists).")
    at: datetime = Field(description="When the request was answered.")
    token_id: int | None = Field(description="The token that made it.")
    role: str = Field(description="The token's role.")
    supplier_id: int | None = Field(description="The supplier of a supplier token.")
    method: str = Field(description="HTTP method.")
    route: str = Field(description="The route template, e.g. /api/task-instances/{instance_id}.")
    target: str = Field(description="The path and query string: the objects or filter asked.")
    status: int = Field(description="The HTTP status of the answer.")
    request_id: str = Field(description="The request id (X-Request-ID, the log line's).")


class AuditLogRead(ReadModel):
    """One changed field of a project, template, calendar or supplier: before, after, who, why."""

    id: int = Field(description="Entry id (newest first in lists).")
    entity: AuditEntity = Field(description="PROJECT, TEMPLATE, CALENDAR or SUPPLIER.")
    entity_id: int = Field(description="The id of what changed.")
    field: str = Field(description="Which field changed.")
    old_value: str | None = Field(description="Before, as text.")
    new_value: str | None = Field(description="After, as text.")
    changed_at: datetime = Field(description="When.")
    actor_id: int | None = Field(description="The token that made the change.")
    actor: str = Field(description="Who, as the token's name says.")
    reason: str | None = Field(description="Why, in words.")
    reason_code: ReasonCode | None = Field(description="Why, as a code (date changes).")
    source: ChangeSource = Field(description="API, BULK, CASCADE, SYSTEM or IMPORT.")
    change_id: str | None = Field(description="Rows of one change share it.")
    request_id: str | None = Field(description="The request that made it.")
