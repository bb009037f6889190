"""The task_instance_history table (append-only: triggers refuse UPDATE and DELETE)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, text
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


class ReasonCode(enum.StrEnum):
    """Why a due date moved (every due-date change names one)."""

    SUPPLIER_REQUEST = "SUPPLIER_REQUEST"
    CUSTOMER_CHANGE = "CUSTOMER_CHANGE"
    TOOLING_DELAY = "TOOLING_DELAY"
    MATERIAL_SHORTAGE = "MATERIAL_SHORTAGE"
    QUALITY_ISSUE = "QUALITY_ISSUE"
    ENGINEERING_CHANGE = "ENGINEERING_CHANGE"
    PLAN_CHANGE = "PLAN_CHANGE"
    OTHER = "OTHER"


class AuditEntity(enum.StrEnum):
    """What kind of object an audit-log row is about."""

    PROJECT = "PROJECT"
    TEMPLATE = "TEMPLATE"
    CALENDAR = "CALENDAR"
    SUPPLIER = "SUPPLIER"
    ASSIGNMENT = "ASSIGNMENT"  # entity_id: the supplier_projects row
    TOKEN = "TOKEN"  # noqa: S105  # nosec B105 - an entity kind, no secret
    INSTANCE = "INSTANCE"  # made or deleted by hand (its changes are its history)
    OPERATION = "OPERATION"  # a bulk operation: applied, undone, cancelled
    JOB = "JOB"
    RETENTION = "RETENTION"  # a retention run
    HOLD = "HOLD"  # a legal hold placed or released
    IMPORT = "IMPORT"  # an import run (entity_id 0: a run has no row of its own)


REJECTED_PREDICATE = "field = 'STATUS' AND new_value = 'REJECTED'"


class TaskInstanceHistory(Base):
    """One changed field of one task instance, who changed it, when, why and how."""

    __tablename__ = "task_instance_history"
    __table_args__ = (
        Index(None, "task_instance_id", "id"),
        # First-pass yield asks "was this instance ever rejected?" for every instance of a
        # report; rejections are few, so a partial index answers it without reading history.
        Index(
            "ix_task_instance_history_rejected",
            "task_instance_id",
            sqlite_where=text(REJECTED_PREDICATE),
            postgresql_where=text(REJECTED_PREDICATE),
        ),
        Index(
            "ix_task_instance_history_bulk_operation_id",
            "bulk_operation_id",
            sqlite_where=text("bulk_operation_id IS NOT NULL"),
            postgresql_where=text("bulk_operation_id IS NOT NULL"),
        ),
        # Ids are never drawn twice, not even those of rows retention disposed of (their
        # tombstones keep them): SQLite would reuse the largest otherwise (migration 0013).
        {"sqlite_autoincrement": True},
    )

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
    # Indexed for the rows of bulk operations only (ix_..._bulk_operation_id, partial).
    bulk_operation_id: Mapped[int | None] = mapped_column(ForeignKey("bulk_operations.id"))
    request_id: Mapped[str | None] = mapped_column(String(64))
    reason_code: Mapped[ReasonCode | None] = mapped_column(enum_column(ReasonCode, "reason_code"))
    # Every row written by one logical change (a PATCH and its cascade, a template move and
    # the instances that follow it) carries the same change id (asked within an instance).
    change_id: Mapped[str | None] = mapped_column(String(32))
    # The hash chain per instance (core/chain.py): filled by the database's insert trigger.
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))


class AuditLog(Base):
    """A change of anything but a task instance's fields (those are its history)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "entity", "entity_id", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    entity: Mapped[AuditEntity] = mapped_column(enum_column(AuditEntity, "entity"))
    entity_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(40))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    reason_code: Mapped[ReasonCode | None] = mapped_column(enum_column(ReasonCode, "reason_code"))
    source: Mapped[ChangeSource] = mapped_column(enum_column(ChangeSource, "source"))
    change_id: Mapped[str | None] = mapped_column(String(32), index=True)
    request_id: Mapped[str | None] = mapped_column(String(64))
    # The hash chain per (entity, entity_id) (core/chain.py): filled by the insert trigger.
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))


class AccessLogEntry(Base):
    """One request by a supplier token (staff too with ACCESS_LOG_STAFF): who asked for what.

    Written in batches after the answers (audit/access.py); append-only but for retention
    (ACCESS_LOG_RETENTION_DAYS).
    """

    __tablename__ = "access_log"
    __table_args__ = (
        Index(None, "supplier_id", "id"),
        Index(None, "token_id", "id"),
        Index(None, "at"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    token_id: Mapped[int | None] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(20))
    supplier_id: Mapped[int | None] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(10))
    route: Mapped[str] = mapped_column(String(200))
    target: Mapped[str] = mapped_column(String(500))
    status: Mapped[int] = mapped_column(Integer)
    request_id: Mapped[str] = mapped_column(String(64))
