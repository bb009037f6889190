"""The audit_checkpoints table: signed chain heads of the audit tables (append-only).

Each row covers the rows of task_instance_history and audit_log up to a boundary id each: how
many there were, a digest of every chain's head at that boundary, the previous checkpoint's
signature, and an HMAC-SHA256 signature over all of it (audit/chain.py, ADR 0015). Nothing
audits this table: its rows are the evidence; the triggers refuse UPDATE and DELETE.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from supplytrack.core.models import Base, UTCDateTime


class AuditCheckpoint(Base):
    """The signed heads of both chains as of a boundary id per table."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Covered: rows with id <= the boundary. Marked: the newest ids seen when it was made,
    # which a later checkpoint covers once AUDIT_CHECKPOINT_GRACE_SECONDS have passed.
    history_boundary: Mapped[int] = mapped_column(BigInteger)
    audit_boundary: Mapped[int] = mapped_column(BigInteger)
    history_mark: Mapped[int] = mapped_column(BigInteger)
    audit_mark: Mapped[int] = mapped_column(BigInteger)
    history_rows: Mapped[int] = mapped_column(BigInteger)
    audit_rows: Mapped[int] = mapped_column(BigInteger)
    history_heads: Mapped[str] = mapped_column(String(64))
    audit_heads: Mapped[str] = mapped_column(String(64))
    previous_signature: Mapped[str | None] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(64))
