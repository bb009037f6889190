"""API shapes of suppliers and their assignments to projects."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from pydantic import AfterValidator, Field, model_validator

from supplytrack.core.schemas import (
    BodyId,
    Capability,
    Code,
    Flag,
    Name,
    ReadModel,
    Reason,
    WriteModel,
)
from supplytrack.suppliers.models import AssignmentStatus, SupplierStatus

Email = Annotated[
    str,
    Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]


def _unique_sorted(values: list[str]) -> list[str]:
    return sorted(set(values))


Capabilities = Annotated[list[Capability], Field(max_length=100), AfterValidator(_unique_sorted)]


class SupplierCreate(WriteModel):
    """A new supplier (also the full body of PUT)."""

    code: Code = Field(description="Unique vendor number.")
    name: Name = Field(description="Company name.")
    contact_email: Email | None = Field(None, description="Quality contact.")
    status: SupplierStatus = Field(
        SupplierStatus.ACTIVE, description="ACTIVE, SUSPENDED, INACTIVE."
    )
    capabilities: Capabilities = Field(
        default_factory=list, description="What it can make, e.g. injection_molding."
    )


class SupplierUpdate(WriteModel):
    """A partial change; ``capabilities``, when given, replaces the whole set."""

    code: Code | None = Field(None, description="Unique vendor number.")
    name: Name | None = Field(None, description="Company name.")
    contact_email: Email | None = Field(None, description="Quality contact.")
    status: SupplierStatus | None = Field(None, description="ACTIVE, SUSPENDED, INACTIVE.")
    capabilities: Capabilities | None = Field(None, description="The new set of capabilities.")
    force: Flag = Field(
        False,
        description="Remove capabilities even when open instances need them: those instances"
        " are WAIVED (needs a reason).",
    )
    reason: Reason | None = Field(None, description="Why (audit trail; required with force).")

    @model_validator(mode="after")
    def _not_null(self) -> Self:
        for required in ("code", "name", "status", "capabilities"):
            if required in self.model_fields_set and getattr(self, required) is None:
                msg = f"{required} cannot be null"
                raise ValueError(msg)
        return self


class SupplierRead(ReadModel):
    """A supplier with its capabilities."""

    id: int = Field(description="Supplier id.")
    code: str = Field(description="Unique vendor number.")
    name: str = Field(description="Company name.")
    contact_email: str | None = Field(description="Quality contact.")
    status: SupplierStatus = Field(description="ACTIVE, SUSPENDED, INACTIVE.")
    capabilities: list[str] = Field(description="What it can make.")
    created_at: datetime = Field(description="When it was created.")
    updated_at: datetime = Field(description="When it last changed.")
    version: int = Field(description="Version, also the ETag.")


class AssignmentCreate(WriteModel):
    """Assign a supplier to the project."""

    supplier_id: BodyId = Field(description="The supplier to assign.")


class AssignmentRead(ReadModel):
    """A supplier's assignment to a project."""

    id: int = Field(description="Assignment (supplier-project) id.")
    supplier_id: int = Field(description="The supplier.")
    project_id: int = Field(description="The project.")
    supplier_code: str = Field(description="The supplier's vendor number.")
    supplier_name: str = Field(description="The supplier's name.")
    status: AssignmentStatus = Field(description="ACTIVE or REMOVED.")
    assigned_at: datetime = Field(description="When it was (last) assigned.")
    removed_at: datetime | None = Field(description="When it was removed, if it is.")
    version: int = Field(description="Version, also the ETag.")


class AssignmentResult(AssignmentRead):
    """The answer to assigning: the assignment and how many task instances fanned out."""

    instances_created: int = Field(description="Task instances created by this assignment.")
