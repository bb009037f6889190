"""The jobs table: state and progress of a long operation, advanced chunk by chunk."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, Text, false
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from supplytrack.core.models import Base, UTCDateTime, VersionedMixin, enum_column, version_check

JSONType = JSON().with_variant(JSONB(), "postgresql")


class JobState(enum.StrEnum):
    """Where a job is in its life."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class Job(VersionedMixin, Base):
    """A long operation: what it is, how far it got, what came of it."""

    __tablename__ = "jobs"
    __table_args__ = (
        version_check(),
        CheckConstraint("total >= 0 AND processed >= 0 AND failed >= 0", name="counts_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    state: Mapped[JobState] = mapped_column(
        enum_column(JobState, "state"), default=JobState.QUEUED, index=True
    )
    total: Mapped[int] = mapped_column(Integer, default=0)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Resumption: the key after which the next chunk starts, advanced in each chunk's
    # transaction, and the worker that holds the job (a lease renewed by every chunk).
    cursor: Mapped[int | None] = mapped_column(Integer)
    owner: Mapped[str | None] = mapped_column(String(64))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
