"""The suppliers, supplier_capabilities and supplier_projects tables."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Computed, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from supplytrack.core.models import Base, UTCDateTime, VersionedMixin, enum_column, version_check
from supplytrack.core.time import utcnow


class SupplierStatus(enum.StrEnum):
    """Whether a supplier may be given new work."""

    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    INACTIVE = "INACTIVE"


class AssignmentStatus(enum.StrEnum):
    """Whether a supplier is (still) on a project."""

    ACTIVE = "ACTIVE"
    REMOVED = "REMOVED"


class Supplier(VersionedMixin, Base):
    """A company that delivers parts."""

    __tablename__ = "suppliers"
    __table_args__ = (version_check(), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    # "ACME-01" and "acme-01" are one code to the people who type them: unique too.
    code_key: Mapped[str] = mapped_column(
        String(64), Computed("lower(trim(code))", persisted=True), unique=True
    )
    name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    status: Mapped[SupplierStatus] = mapped_column(
        enum_column(SupplierStatus, "status"), default=SupplierStatus.ACTIVE
    )


class SupplierCapability(Base):
    """One thing a supplier can make (``injection_molding``, ``pcb_assembly``, ...)."""

    __tablename__ = "supplier_capabilities"
    __table_args__ = (Index(None, "capability", "supplier_id"),)

    supplier_id: Mapped[int] = mapped_column(
        ForeignKey("suppliers.id", ondelete="CASCADE"), primary_key=True
    )
    capability: Mapped[str] = mapped_column(String(64), primary_key=True)


class SupplierProject(VersionedMixin, Base):
    """A supplier assigned to a project (kept, as REMOVED, when taken off it)."""

    __tablename__ = "supplier_projects"
    __table_args__ = (
        version_check(),
        UniqueConstraint("supplier_id", "project_id"),
        # Target of task_instances' composite key: an instance's copies of the project and
        # supplier can never disagree with its assignment.
        UniqueConstraint("id", "project_id", "supplier_id"),
        Index(None, "project_id"),
        Index(None, "supplier_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    status: Mapped[AssignmentStatus] = mapped_column(
        enum_column(AssignmentStatus, "status"), default=AssignmentStatus.ACTIVE
    )
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
