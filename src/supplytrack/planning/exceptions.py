"""Errors of the date rules (SPEC section 2, 'Due dates'), shared by templates and instances."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from supplytrack.core.errors import BusinessRuleError
from supplytrack.core.time import FIRST_DAY, LAST_DAY


class DateOutOfRange(BusinessRuleError):
    """Every day field, given or computed, lies in FIRST_DAY..LAST_DAY."""

    def __init__(self, offenders: Sequence[dict[str, Any]], total: int | None = None) -> None:
        super().__init__(
            f"dates must lie between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()};"
            f" {total if total is not None else len(offenders)} would not",
            code="DATE_OUT_OF_RANGE",
            details=list(offenders[:100]),
        )


class DueDateInPast(BusinessRuleError):
    """A date that is set or changed must be today or later."""

    def __init__(
        self, today: date, offenders: Sequence[dict[str, Any]], total: int | None = None
    ) -> None:
        super().__init__(
            f"due dates must be today ({today.isoformat()}) or later;"
            f" {total if total is not None else len(offenders)} would not be",
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

    def __init__(
        self, sop: date, offenders: Sequence[dict[str, Any]], total: int | None = None
    ) -> None:
        count = total if total is not None else len(offenders)
        super().__init__(
            f"moving past the start of production ({sop.isoformat()}) needs a reason;"
            f" {count} due dates would cross it",
            code="REASON_REQUIRED",
            details=list(offenders[:100]),
        )


class DependencyCycle(BusinessRuleError):
    """The dependencies would form a cycle."""

    def __init__(self, cycle: Sequence[int]) -> None:
        path = " -> ".join(str(node) for node in cycle)
        super().__init__(
            f"dependencies would form a cycle: {path}",
            code="DEPENDENCY_CYCLE",
            details=[{"cycle": list(cycle)}],
        )
