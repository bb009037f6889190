"""The task_templates and task_template_dependencies tables."""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from supplytrack.core.models import Base, VersionedMixin, version_check


class TaskTemplate(VersionedMixin, Base):
    """A milestone planned once per project and fanned out to its suppliers."""

    __tablename__ = "task_templates"
    __table_args__ = (
        version_check(),
        UniqueConstraint("project_id", "name"),
        UniqueConstraint("id", "project_id"),
        Index(None, "project_id", "canonical_due"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    canonical_due: Mapped[date] = mapped_column(Date)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    required_capability: Mapped[str | None] = mapped_column(String(64))


class TaskTemplateDependency(Base):
    """``template_id`` depends on ``depends_on_id``; both of the same project (by key)."""

    __tablename__ = "task_template_dependencies"
    __table_args__ = (
        CheckConstraint("template_id <> depends_on_id", name="not_self"),
        ForeignKeyConstraint(
            ["template_id", "project_id"],
            ["task_templates.id", "task_templates.project_id"],
            ondelete="CASCADE",
            name="fk_task_template_dependencies_template",
        ),
        ForeignKeyConstraint(
            ["depends_on_id", "project_id"],
            ["task_templates.id", "task_templates.project_id"],
            ondelete="CASCADE",
            name="fk_task_template_dependencies_prerequisite",
        ),
        Index(None, "depends_on_id"),
        Index(None, "project_id"),
    )

    template_id: Mapped[int] = mapped_column(primary_key=True)
    depends_on_id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(Integer)
