"""Retention's tables: legal holds, retention runs, and the tombstones of disposed history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from supplytrack.core.models import Base, UTCDateTime

_JSON = JSON().with_variant(JSONB(), "postgresql")


class LegalHold(Base):
    """A hold on a project or a supplier: nothing of it is disposed of while it is in place."""

    __tablename__ = "legal_holds"
    __table_args__ = (
        CheckConstraint(
            "(project_id IS NULL) <> (supplier_id IS NULL)", name="one_project_or_supplier"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    placed_by: Mapped[str] = mapped_column(String(200))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    released_by: Mapped[str | None] = mapped_column(String(200))


class RetentionRun(Base):
    """One `retention apply`: when, by whom, as of which day, and what it disposed of."""

    __tablename__ = "retention_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    as_of: Mapped[date] = mapped_column(Date)
    # {"projects": [{"projectId", "instances", "historyRows", "bundle", "sha256"}], ...}
    summary: Mapped[dict[str, Any]] = mapped_column(_JSON, default=dict)


class HistoryTombstone(Base):
    """What is left of a disposed history row: its id, chain and hash (never its content).

    The checkpoints signed the chain heads of id ranges that held these rows; verify counts
    the tombstones with the rows still there, so a disposal is not a deletion it reports.
    """

    __tablename__ = "history_tombstones"
    __table_args__ = (Index(None, "task_instance_id", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=False
    )
    task_instance_id: Mapped[int] = mapped_column(Integer)
    row_hash: Mapped[str | None] = mapped_column(String(64))
    retention_run_id: Mapped[int] = mapped_column(ForeignKey("retention_runs.id"), index=True)
