"""Errors of the suppliers domain."""

from __future__ import annotations

from supplytrack.core.errors import BusinessRuleError, Conflict


class SupplierCodeTaken(Conflict):
    """Another supplier already has this vendor number."""

    def __init__(self, code: str) -> None:
        super().__init__(f"a supplier with code {code!r} already exists", code="DUPLICATE_CODE")


class SupplierHasHistory(Conflict):
    """Work was recorded for the supplier (or it has tokens): deactivate it instead."""

    def __init__(self, supplier_id: int, why: str) -> None:
        super().__init__(
            f"supplier {supplier_id} {why}; set its status to INACTIVE instead",
            code="HAS_HISTORY",
            details=[{"alternative": 'PATCH /api/suppliers/{id} {"status": "INACTIVE"}'}],
        )


class SupplierNotActive(BusinessRuleError):
    """Only ACTIVE suppliers are given new work."""

    def __init__(self, supplier_id: int, status: str) -> None:
        super().__init__(
            f"supplier {supplier_id} is {status}; only ACTIVE suppliers can be assigned",
            code="SUPPLIER_NOT_ACTIVE",
        )


class AlreadyAssigned(Conflict):
    """The supplier is already (actively) on the project."""

    def __init__(self, supplier_id: int, project_id: int) -> None:
        super().__init__(
            f"supplier {supplier_id} is already assigned to project {project_id}",
            code="ALREADY_ASSIGNED",
        )


class CapabilityInUse(Conflict):
    """Open instances still need a capability that is being removed."""

    def __init__(self, capabilities: list[str], instance_ids: list[int]) -> None:
        super().__init__(
            f"{len(instance_ids)} open task instances need {', '.join(capabilities)};"
            " pass force: true with a reason to waive them",
            code="CAPABILITY_IN_USE",
            details=[{"taskInstanceId": instance_id} for instance_id in instance_ids[:100]],
        )


class ForceNeedsReason(BusinessRuleError):
    """Waiving instances by force needs a reason."""

    def __init__(self) -> None:
        super().__init__(
            "force waives open instances and needs a reason",
            code="REASON_REQUIRED",
            details=[{"field": "reason"}],
        )
