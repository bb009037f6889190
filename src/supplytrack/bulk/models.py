"""The bulk_operations and idempotency_keys tables."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from supplytrack.core.models import Base, TimestampMixin, UTCDateTime, enum_column
from supplytrack.core.time import utcnow
from supplytrack.jobs.models import JSONType


class BulkKind(enum.StrEnum):
    """What a bulk operation does."""

    STATUS_UPDATE = "STATUS_UPDATE"
    DATE_SHIFT = "DATE_SHIFT"
    UNDO = "UNDO"


class BulkState(enum.StrEnum):
    """Where a bulk operation stands."""

    QUEUED = "QUEUED"  # its job waits for a worker
    RUNNING = "RUNNING"
    APPLIED = "APPLIED"
    PARTIAL = "PARTIAL"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    UNDONE = "UNDONE"


class BulkOperation(TimestampMixin, Base):
    """One bulk change; its history rows carry its id, so it can be shown and undone."""

    __tablename__ = "bulk_operations"
    __table_args__ = (Index(None, "project_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[BulkKind] = mapped_column(enum_column(BulkKind, "kind"))
    state: Mapped[BulkState] = mapped_column(enum_column(BulkState, "state"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    actor: Mapped[str] = mapped_column(String(200))
    request_id: Mapped[str | None] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    undo_of_id: Mapped[int | None] = mapped_column(ForeignKey("bulk_operations.id"))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class IdempotencyKey(Base):
    """The first answer to a bulk POST sent with an Idempotency-Key, replayed on retries."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("actor_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id"))
    key: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(300))
    body_digest: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
