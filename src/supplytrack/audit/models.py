"""The task_instance_history table (append-only: triggers refuse UPDATE and DELETE)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from supplytrack.core.models import Base, UTCDateTime, enum_column
from supplytrack.core.time import utcnow


class HistoryField(enum.StrEnum):
    """Which field of the instance changed."""

    STATUS = "STATUS"
    ACTUAL_DUE = "ACTUAL_DUE"
    NOTES = "NOTES"


class ChangeSource(enum.StrEnum):
    """What made the change."""

    API = "API"
    BULK = "BULK"
    CASCADE = "CASCADE"
    SYSTEM = "SYSTEM"
    IMPORT = "IMPORT"


class TaskInstanceHistory(Base):
    """One changed field of one task instance, who changed it, when, why and how."""

    __tablename__ = "task_instance_history"
    __table_args__ = (Index(None, "task_instance_id", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    task_instance_id: Mapped[int] = mapped_column(ForeignKey("task_instances.id"))
    field: Mapped[HistoryField] = mapped_column(enum_column(HistoryField, "field"))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[ChangeSource] = mapped_column(enum_column(ChangeSource, "source"))
    bulk_operation_id: Mapped[int | None] = mapped_column(Integer)
    request_id: Mapped[str | None] = mapped_column(String(64))
