"""Errors of the tasks domain."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from supplytrack.core.errors import BusinessRuleError, Conflict, Forbidden


class PrerequisitesOpen(BusinessRuleError):
    """Submission and approval wait until every prerequisite is APPROVED or WAIVED."""

    def __init__(self, open_prerequisites: Sequence[dict[str, Any]]) -> None:
        super().__init__(
            "every prerequisite must be APPROVED or WAIVED first",
            code="PREREQUISITES_OPEN",
            details=list(open_prerequisites),
        )


class CapabilityMissing(BusinessRuleError):
    """The supplier lacks the capability the milestone requires."""

    def __init__(self, supplier_id: int, capability: str) -> None:
        super().__init__(
            f"supplier {supplier_id} does not have the capability {capability!r}"
            " that this milestone requires",
            code="CAPABILITY_MISSING",
            details=[{"supplierId": supplier_id, "capability": capability}],
        )


class TemplateOfOtherProject(BusinessRuleError):
    """The template and the assignment are of different projects."""

    def __init__(self) -> None:
        super().__init__(
            "the milestone is not of the assignment's project", code="PROJECT_MISMATCH"
        )


class InstanceExists(Conflict):
    """The supplier already has this milestone."""

    def __init__(self) -> None:
        super().__init__(
            "this assignment already has an instance of this milestone", code="DUPLICATE_INSTANCE"
        )


class InstanceHasHistory(Conflict):
    """Only untouched instances may be deleted."""

    def __init__(self, instance_id: int) -> None:
        super().__init__(
            f"task instance {instance_id} has history; waive it instead of deleting it",
            code="HAS_HISTORY",
            details=[{"alternative": "PATCH status=WAIVED with a reason"}],
        )


class SupplierFieldForbidden(Forbidden):
    """Suppliers move statuses and write notes; due dates are the manufacturer's."""

    def __init__(self) -> None:
        super().__init__(
            "a supplier may not change actualDue; ask the program's manager",
            code="FIELD_FORBIDDEN",
            details=[{"field": "actualDue"}],
        )


class AssignmentRemoved(Conflict):
    """Removed assignments get no new instances."""

    def __init__(self, assignment_id: int) -> None:
        super().__init__(
            f"assignment {assignment_id} is REMOVED; re-assign the supplier first",
            code="ASSIGNMENT_REMOVED",
        )


class InstanceCompleted(Conflict):
    """APPROVED and WAIVED milestones keep their dates; reopen first."""

    def __init__(self, instance_id: int, status: str) -> None:
        super().__init__(
            f"task instance {instance_id} is {status}; reopen it before moving its due date",
            code="INSTANCE_COMPLETED",
        )
