"""The task_instances table."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from supplytrack.core.models import Base, UTCDateTime, VersionedMixin, enum_column, version_check
from supplytrack.tasks.enums import TaskStatus


class TaskInstance(VersionedMixin, Base):
    """One supplier's copy of one template, with its own status and due date.

    ``project_id`` and ``supplier_id`` are immutable copies of the assignment's, kept in step
    by a composite foreign key, so that lists by project or supplier (and the supplier scope)
    need no join.
    """

    __tablename__ = "task_instances"
    __table_args__ = (
        version_check(),
        UniqueConstraint("supplier_project_id", "task_template_id"),
        ForeignKeyConstraint(
            ["supplier_project_id", "project_id", "supplier_id"],
            [
                "supplier_projects.id",
                "supplier_projects.project_id",
                "supplier_projects.supplier_id",
            ],
            name="fk_task_instances_assignment",
        ),
        ForeignKeyConstraint(
            ["task_template_id", "project_id"],
            ["task_templates.id", "task_templates.project_id"],
            name="fk_task_instances_template",
        ),
        CheckConstraint(
            "(status IN ('APPROVED', 'WAIVED')) = (completed_at IS NOT NULL)",
            name="completed_iff_done",
        ),
        CheckConstraint(
            "status NOT IN ('SUBMITTED', 'APPROVED') OR submitted_at IS NOT NULL",
            name="submitted_has_time",
        ),
        Index(None, "status"),
        Index(None, "supplier_project_id", "status"),
        Index(None, "task_template_id"),
        Index(None, "actual_due"),
        Index(None, "project_id", "id"),
        # Project status counts by status within one project.
        Index(None, "project_id", "status"),
        Index(None, "supplier_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_project_id: Mapped[int] = mapped_column(Integer)
    project_id: Mapped[int] = mapped_column(Integer)
    supplier_id: Mapped[int] = mapped_column(Integer)
    task_template_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[TaskStatus] = mapped_column(
        enum_column(TaskStatus, "status"), default=TaskStatus.NOT_STARTED
    )
    actual_due: Mapped[date] = mapped_column(Date)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notes: Mapped[str | None] = mapped_column(Text)
