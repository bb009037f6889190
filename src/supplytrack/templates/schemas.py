"""API shapes of task templates."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Self

from pydantic import AfterValidator, Field, model_validator

from supplytrack.audit.models import ReasonCode
from supplytrack.core.schemas import (
    BodyId,
    Capability,
    Flag,
    IsoDate,
    LongText,
    Name,
    ReadModel,
    Reason,
    ShiftAmount,
    WholeNumber,
    WriteModel,
)


def _unique_sorted(values: list[int]) -> list[int]:
    return sorted(set(values))


DependsOn = Annotated[list[BodyId], Field(max_length=200), AfterValidator(_unique_sorted)]


class TemplateCreate(WriteModel):
    """A new milestone of the project; it fans out to every capable assigned supplier."""

    name: Name = Field(description="Milestone name, unique in the project.")
    description: LongText | None = Field(None, description="What the supplier must deliver.")
    canonical_due: IsoDate = Field(description="The planned date (YYYY-MM-DD).")
    sequence: WholeNumber = Field(0, ge=0, le=100_000, description="Display order.")
    required_capability: Capability | None = Field(
        None, description="Only suppliers with this capability get the milestone."
    )
    depends_on: DependsOn = Field(
        default_factory=list, description="Ids of templates of the same project it depends on."
    )


class TemplateUpdate(WriteModel):
    """A partial change of a milestone; dependsOn, when given, replaces the set.

    A new planned date is given as ``canonicalDue`` or as a shift (``shiftDays``,
    ``shiftWorkingDays``). Instances still on the old planned date follow it; instances moved
    per supplier keep their date unless ``force``. With ``cascade``, every downstream milestone
    (and its instances) moves later by the same amount.
    """

    name: Name | None = Field(None, description="Milestone name.")
    description: LongText | None = Field(None, description="What the supplier must deliver.")
    canonical_due: IsoDate | None = Field(None, description="The planned date.")
    shift_days: ShiftAmount | None = Field(None, description="Move the planned date by N days.")
    shift_working_days: ShiftAmount | None = Field(
        None, description="Move the planned date by N working days of the project calendar."
    )
    cascade: Flag = Field(False, description="Move every downstream milestone by as much.")
    force: Flag = Field(False, description="Move instances that suppliers had moved too.")
    reason_code: ReasonCode | None = Field(None, description="Required with a date change.")
    reason: Reason | None = Field(None, description="Why (audit trail).")
    sequence: WholeNumber | None = Field(None, ge=0, le=100_000, description="Display order.")
    required_capability: Capability | None = Field(
        None, description="Only while no instances exist."
    )
    depends_on: DependsOn | None = Field(None, description="The new set of prerequisites.")

    @model_validator(mode="after")
    def _not_null(self) -> Self:
        given = self.model_fields_set
        for required in (
            "name",
            "canonical_due",
            "sequence",
            "depends_on",
            "shift_days",
            "shift_working_days",
        ):
            if required in given and getattr(self, required) is None:
                msg = f"{required} cannot be null"
                raise ValueError(msg)
        if len(given & {"canonical_due", "shift_days", "shift_working_days"}) > 1:
            msg = "give the new date one way: canonicalDue, shiftDays or shiftWorkingDays"
            raise ValueError(msg)
        return self


class TemplateRead(ReadModel):
    """A milestone with its prerequisites."""

    id: int = Field(description="Template id.")
    project_id: int = Field(description="Its project.")
    name: str = Field(description="Milestone name.")
    description: str | None = Field(description="What the supplier must deliver.")
    canonical_due: date = Field(description="The planned date.")
    sequence: int = Field(description="Display order.")
    required_capability: str | None = Field(description="Capability a supplier needs.")
    depends_on: list[int] = Field(description="Ids of its prerequisites.")
    created_at: datetime = Field(description="When it was created.")
    updated_at: datetime = Field(description="When it last changed.")
    version: int = Field(description="Version, also the ETag.")


class TemplateCreated(TemplateRead):
    """The answer to creating a milestone."""

    instances_created: int = Field(description="Task instances fanned out to suppliers.")
