"""API shapes of task instances."""

from __future__ import annotations

from datetime import date, datetime
from typing import Self

from pydantic import Field, model_validator

from supplytrack.audit.models import ReasonCode
from supplytrack.core.schemas import (
    BodyId,
    Flag,
    IsoDate,
    LongText,
    ReadModel,
    Reason,
    ShiftAmount,
    WriteModel,
)
from supplytrack.tasks.enums import TaskStatus


class TaskInstanceCreate(WriteModel):
    """Create one instance by hand (fan-out normally does this)."""

    supplier_project_id: BodyId = Field(description="The assignment (supplier on project).")
    task_template_id: BodyId = Field(description="The milestone, of the same project.")


class TaskInstanceUpdate(WriteModel):
    """Move the status, the due date or the notes; ``reason`` goes into the audit trail.

    The due date is given as a date (``actualDue``) or as a shift (``shiftDays`` or
    ``shiftWorkingDays``, the latter landing on a working day of the project's calendar).
    """

    status: TaskStatus | None = Field(None, description="Target status (see the status machine).")
    actual_due: IsoDate | None = Field(None, description="New due date for this supplier.")
    shift_days: ShiftAmount | None = Field(None, description="Move the due date by N days.")
    shift_working_days: ShiftAmount | None = Field(
        None, description="Move the due date by N working days."
    )
    cascade: Flag = Field(
        False, description="Move this supplier's downstream milestones later by the same amount."
    )
    notes: LongText | None = Field(None, description="Free text; null clears it.")
    reason_code: ReasonCode | None = Field(None, description="Required with any due-date change.")
    reason: Reason | None = Field(
        None, description="Why; required to reject, block, waive, reopen or move past SOP."
    )

    @model_validator(mode="after")
    def _something_to_change(self) -> Self:
        given = self.model_fields_set
        if not given & {"status", "actual_due", "shift_days", "shift_working_days", "notes"}:
            msg = "give at least one of status, actualDue, shiftDays, shiftWorkingDays, notes"
            raise ValueError(msg)
        if len(given & {"actual_due", "shift_days", "shift_working_days"}) > 1:
            msg = "give the new due date one way: actualDue, shiftDays or shiftWorkingDays"
            raise ValueError(msg)
        for required in ("status", "actual_due", "shift_days", "shift_working_days"):
            if required in given and getattr(self, required) is None:
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
    at_risk: bool = Field(description="Open and due after the project's start of production.")
    submitted_at: datetime | None = Field(description="First submission.")
    completed_at: datetime | None = Field(description="Approval or waiver.")
    notes: str | None = Field(description="Free text.")
    created_at: datetime = Field(description="When it was created.")
    updated_at: datetime = Field(description="When it last changed.")
    version: int = Field(description="Version, also the ETag.")


class TaskInstanceAsOf(ReadModel):
    """An instance as it stood at the end of a past day, rebuilt from its audit trail."""

    id: int = Field(description="Instance id.")
    supplier_project_id: int = Field(description="The assignment.")
    project_id: int = Field(description="The project.")
    supplier_id: int = Field(description="The supplier.")
    task_template_id: int = Field(description="The milestone.")
    status: TaskStatus = Field(description="Its status at the end of asOf.")
    actual_due: date = Field(description="Its due date at the end of asOf.")
    overdue: bool = Field(description="Overdue as seen on asOf.")
    at_risk: bool = Field(description="Open and due after the project's SOP, as of asOf.")
    submitted_at: datetime | None = Field(description="First submission, if before the cut.")
    completed_at: datetime | None = Field(description="Approval or waiver, if done by then.")
    as_of: date = Field(description="The day this view is of (end of day, APP_TIMEZONE).")
