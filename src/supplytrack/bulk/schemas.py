"""API shapes of bulk operations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, Field, model_validator

from supplytrack.audit.models import ReasonCode
from supplytrack.bulk.models import BulkKind, BulkState
from supplytrack.core.schemas import (
    BodyId,
    Flag,
    IsoDate,
    ReadModel,
    Reason,
    ShiftAmount,
    WriteModel,
)
from supplytrack.tasks.enums import TaskStatus

MAX_IDS = 10_000


def _unique_sorted(values: list[int]) -> list[int]:
    return sorted(set(values))


Ids = Annotated[list[BodyId], Field(max_length=MAX_IDS), AfterValidator(_unique_sorted)]
SmallIds = Annotated[list[BodyId], Field(max_length=1000), AfterValidator(_unique_sorted)]


class BulkFilter(WriteModel):
    """Which instances a bulk status update applies to (at least one criterion)."""

    project_id: BodyId | None = Field(None, description="Instances of this project.")
    supplier_id: BodyId | None = Field(None, description="Instances of this supplier.")
    task_template_id: BodyId | None = Field(None, description="Instances of this milestone.")
    status: list[TaskStatus] | None = Field(None, max_length=7, description="In these statuses.")
    due_from: IsoDate | None = Field(None, description="actualDue on or after this date.")
    due_to: IsoDate | None = Field(None, description="actualDue on or before this date.")

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.model_fields_set:
            msg = "a filter needs at least one criterion"
            raise ValueError(msg)
        return self


class BulkStatusUpdate(WriteModel):
    """Move many instances to one status, each through the status machine."""

    ids: Ids | None = Field(None, description="Up to 10,000 instance ids.")
    filter: BulkFilter | None = Field(None, description="Or: the instances matching this.")
    status: TaskStatus = Field(description="The target status.")
    reason: Reason | None = Field(None, description="Why; required where the machine asks.")
    mode: Literal["atomic", "partial"] = Field(
        "atomic", description="atomic: all or nothing; partial: apply the valid ones."
    )

    @model_validator(mode="after")
    def _ids_or_filter(self) -> Self:
        if (self.ids is None) == (self.filter is None):
            msg = "give either ids or filter"
            raise ValueError(msg)
        return self


class Refusal(ReadModel):
    """Why one instance was not changed."""

    task_instance_id: int = Field(description="The instance.")
    code: str = Field(description="Error code, e.g. INVALID_TRANSITION.")
    message: str = Field(description="Why.")


class BulkStatusResult(ReadModel):
    """The answer to a bulk status update (200 applied, 202 queued)."""

    bulk_operation_id: int = Field(description="Audit id of this operation (for GET and undo).")
    job_id: int | None = Field(description="The job when it was queued.")
    state: BulkState = Field(description="APPLIED, PARTIAL, or QUEUED (202: a job will apply it).")
    matched: int = Field(description="Instances addressed.")
    applied: int = Field(description="Instances changed (or to change, when queued).")
    unchanged: int = Field(description="Instances already in the target status.")
    refused: list[Refusal] = Field(description="Instances not changed, and why.")


class DateChange(WriteModel):
    """A date change over a project's instances: a shift, or a new date for a milestone."""

    shift_days: ShiftAmount | None = Field(None, description="Move by N days.")
    shift_working_days: ShiftAmount | None = Field(None, description="Move by N working days.")
    new_date: IsoDate | None = Field(None, description="Set this date (one templateId).")
    template_ids: SmallIds = Field(default_factory=list, description="Only these milestones.")
    supplier_ids: SmallIds = Field(default_factory=list, description="Only these suppliers.")
    statuses: list[TaskStatus] = Field(
        default_factory=list, max_length=7, description="Only in these statuses."
    )
    due_from: IsoDate | None = Field(None, description="Only due on or after this date.")
    due_to: IsoDate | None = Field(None, description="Only due on or before this date.")
    cascade: Flag = Field(False, description="Move downstream milestones later by as much.")
    reason_code: ReasonCode | None = Field(None, description="Required to apply.")
    reason: Reason | None = Field(None, description="Why (required past SOP).")

    @model_validator(mode="after")
    def _one_change(self) -> Self:
        given = [self.shift_days, self.shift_working_days, self.new_date]
        if sum(value is not None for value in given) != 1:
            msg = "give exactly one of shiftDays, shiftWorkingDays, newDate"
            raise ValueError(msg)
        if self.new_date is not None and len(self.template_ids) != 1:
            msg = "newDate needs exactly one templateId"
            raise ValueError(msg)
        return self


class DateChangeApply(DateChange):
    """Apply a date change; with previewToken, only if the outcome is still the previewed one."""

    preview_token: Annotated[str, Field(pattern="^[0-9a-f]{32}$")] | None = Field(
        None, description="The previewToken of GET: 409 if the outcome changed since."
    )


class Move(ReadModel):
    """One instance's due date moving."""

    task_instance_id: int = Field(description="The instance.")
    supplier_id: int = Field(description="Its supplier.")
    task_template_id: int = Field(description="Its milestone.")
    from_date: date = Field(alias="from", description="Due date now.")
    to_date: date = Field(alias="to", description="Due date after the change.")
    cascaded: bool = Field(description="Moved by the cascade, not by the scope.")


class Violation(ReadModel):
    """A rule the change would break (the change is refused while any remain)."""

    code: str = Field(description="DUE_DATE_IN_PAST, DEPENDENCY_ORDER, REASON_REQUIRED ...")
    message: str = Field(description="What breaks.")
    details: list[Any] = Field(description="The instances concerned (up to 100).")


class DatePreview(ReadModel):
    """What a date change would do; nothing is written."""

    matched: int = Field(description="Instances in scope.")
    moves: int = Field(description="Instances whose due date would change, cascades included.")
    cascaded: int = Field(description="Of those, moved by the cascade.")
    sample: list[Move] = Field(description="The first 50 moves.")
    violations: list[Violation] = Field(description="Every rule that would break.")
    preview_token: str = Field(description="Send it back with POST to apply exactly this.")


class DateChangeResult(ReadModel):
    """The answer to applying a date change (200 applied, 202 queued)."""

    bulk_operation_id: int = Field(description="Audit id of this operation.")
    job_id: int | None = Field(description="The job when it was queued.")
    state: BulkState = Field(description="APPLIED, or QUEUED (202: a job will apply it).")
    moves: int = Field(description="Due dates changed (or to change, when queued).")
    cascaded: int = Field(description="Of those, moved by the cascade.")


class BulkOperationRead(ReadModel):
    """A bulk operation and what it changed."""

    id: int = Field(description="Bulk operation id.")
    kind: BulkKind = Field(description="STATUS_UPDATE, DATE_SHIFT or UNDO.")
    state: BulkState = Field(
        description="QUEUED, RUNNING, APPLIED, PARTIAL, FAILED, CANCELLED or UNDONE."
    )
    project_id: int | None = Field(description="Its project, when it has one.")
    actor: str = Field(description="Who ran it.")
    request_id: str | None = Field(description="The request that started it.")
    params: dict[str, Any] = Field(description="What was asked.")
    summary: dict[str, Any] = Field(description="Counts of what it did.")
    job_id: int | None = Field(description="Its job, if it was queued.")
    undo_of_id: int | None = Field(description="The operation this one undid.")
    created_at: datetime = Field(description="When it started.")
    finished_at: datetime | None = Field(description="When it ended.")
    changed_instances: int = Field(description="Instances with history rows of this operation.")
    changes_by_field: dict[str, int] = Field(description="History rows per field.")
