"""API shapes of task instances."""

from __future__ import annotations

from datetime import date, datetime
from typing import Self

from pydantic import Field, model_validator

from supplytrack.core.schemas import BodyId, IsoDate, LongText, ReadModel, Reason, WriteModel
from supplytrack.tasks.enums import TaskStatus


class TaskInstanceCreate(WriteModel):
    """Create one instance by hand (fan-out normally does this)."""

    supplier_project_id: BodyId = Field(description="The assignment (supplier on project).")
    task_template_id: BodyId = Field(description="The milestone, of the same project.")


class TaskInstanceUpdate(WriteModel):
    """Move the status, the due date or the notes; ``reason`` goes into the audit trail."""

    status: TaskStatus | None = Field(None, description="Target status (see the status machine).")
    actual_due: IsoDate | None = Field(None, description="New due date for this supplier.")
    notes: LongText | None = Field(None, description="Free text; null clears it.")
    reason: Reason | None = Field(
        None, description="Why; required to reject, block, waive or reopen."
    )

    @model_validator(mode="after")
    def _something_to_change(self) -> Self:
        if not self.model_fields_set - {"reason"}:
            msg = "give at least one of status, actualDue, notes"
            raise ValueError(msg)
        for required in ("status", "actual_due"):
            if required in self.model_fields_set and getattr(self, required) is None:
                msg = f"{required} cannot be null"
                raise ValueError(msg)
        return self


class TaskInstanceRead(ReadModel):
    """One supplier's copy of one milestone."""

    id: int = Field(description="Instance id.")
    supplier_project_id: int = Field(description="The assignment.")
    project_id: int = Field(description="The project.")
    supplier_id: int = Field(description="The supplier.")
    task_template_id: int = Field(description="The milestone.")
    status: TaskStatus = Field(description="Where the supplier stands.")
    actual_due: date = Field(description="This supplier's due date.")
    overdue: bool = Field(description="Open in the supplier's hands and due before today.")
    submitted_at: datetime | None = Field(description="First submission.")
    completed_at: datetime | None = Field(description="Approval or waiver.")
    notes: str | None = Field(description="Free text.")
    created_at: datetime = Field(description="When it was created.")
    updated_at: datetime = Field(description="When it last changed.")
    version: int = Field(description="Version, also the ETag.")
