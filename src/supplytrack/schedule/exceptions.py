"""Errors of the date rules (SPEC section 2, 'Due dates'), shared by templates and instances."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from supplytrack.core.errors import BusinessRuleError


class DueDateInPast(BusinessRuleError):
    """A date that is set or changed must be today or later."""

    def __init__(self, today: date, offenders: Sequence[dict[str, Any]]) -> None:
        super().__init__(
            f"due dates must be today ({today.isoformat()}) or later;"
            f" {len(offenders)} would not be",
            code="DUE_DATE_IN_PAST",
            details=list(offenders[:100]),
        )


class OutsideProjectWindow(BusinessRuleError):
    """A template's planned date must lie within the project's start..SOP window."""

    def __init__(
        self, start: date | None, sop: date | None, offenders: Sequence[dict[str, Any]]
    ) -> None:
        window = f"{start.isoformat() if start else '-'}..{sop.isoformat() if sop else '-'}"
        super().__init__(
            f"planned dates must lie within the project window {window}",
            code="OUTSIDE_PROJECT_WINDOW",
            details=list(offenders[:100]),
        )


class DependencyOrder(BusinessRuleError):
    """A dependent would be due before one of its prerequisites."""

    def __init__(self, kind: str, pairs: Sequence[dict[str, Any]]) -> None:
        super().__init__(
            f"{len(pairs)} {kind} would be due before a prerequisite; move them too"
            " (cascade: true moves every downstream dependent by the same amount)",
            code="DEPENDENCY_ORDER",
            details=list(pairs[:100]),
        )


class PrerequisitesOpen(BusinessRuleError):
    """Submission and approval wait until every prerequisite is APPROVED or WAIVED."""

    def __init__(self, open_prerequisites: Sequence[dict[str, Any]]) -> None:
        super().__init__(
            "every prerequisite must be APPROVED or WAIVED first",
            code="PREREQUISITES_OPEN",
            details=list(open_prerequisites),
        )


class ReasonCodeRequired(BusinessRuleError):
    """Every due-date change names its reason code."""

    def __init__(self) -> None:
        super().__init__(
            "a due-date change needs a reasonCode (SUPPLIER_REQUEST, CUSTOMER_CHANGE,"
            " TOOLING_DELAY, MATERIAL_SHORTAGE, QUALITY_ISSUE, ENGINEERING_CHANGE, PLAN_CHANGE,"
            " OTHER)",
            code="REASON_CODE_REQUIRED",
            details=[{"field": "reasonCode"}],
        )


class PastSopNeedsReason(BusinessRuleError):
    """Moving an instance past the project's SOP needs an explanation."""

    def __init__(self, sop: date, offenders: Sequence[dict[str, Any]]) -> None:
        super().__init__(
            f"moving past the start of production ({sop.isoformat()}) needs a reason",
            code="REASON_REQUIRED",
            details=list(offenders[:100]),
        )
