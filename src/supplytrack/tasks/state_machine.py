"""The status machine of a task instance (SPEC section 2), as ordered rules. Pure: no database.

``transition()`` decides whether one actor may move one instance from one status to another
and what else the move implies (timestamps, a prerequisite check). Everything that moves a
status (single PATCH, bulk, jobs) goes through it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from supplytrack.core.errors import BusinessRuleError, Forbidden
from supplytrack.tasks.enums import DONE_STATUSES, OPEN_STATUSES, TaskStatus


class Mover(enum.StrEnum):
    """Who moves the instance: the supplier itself, or the manufacturer's staff."""

    SUPPLIER = "supplier"
    MANAGER = "manager"


_BOTH = frozenset({Mover.SUPPLIER, Mover.MANAGER})
_MANAGER = frozenset({Mover.MANAGER})
S = TaskStatus


@dataclass(frozen=True, slots=True)
class Rule:
    """One allowed move: from any of ``sources`` to ``target``, by ``movers``."""

    sources: frozenset[TaskStatus]
    target: TaskStatus
    movers: frozenset[Mover]
    needs_reason: bool = False


RULES: tuple[Rule, ...] = (
    Rule(frozenset({S.NOT_STARTED}), S.IN_PROGRESS, _BOTH),
    Rule(frozenset({S.IN_PROGRESS}), S.SUBMITTED, _BOTH),
    Rule(frozenset({S.SUBMITTED}), S.APPROVED, _MANAGER),
    Rule(frozenset({S.SUBMITTED}), S.REJECTED, _MANAGER, needs_reason=True),
    Rule(frozenset({S.REJECTED}), S.IN_PROGRESS, _BOTH),
    Rule(frozenset({S.REJECTED}), S.SUBMITTED, _BOTH),
    Rule(
        frozenset({S.NOT_STARTED, S.IN_PROGRESS, S.REJECTED}), S.BLOCKED, _BOTH, needs_reason=True
    ),
    Rule(frozenset({S.BLOCKED}), S.IN_PROGRESS, _BOTH),
    Rule(OPEN_STATUSES, S.WAIVED, _MANAGER, needs_reason=True),
    Rule(DONE_STATUSES, S.IN_PROGRESS, _MANAGER, needs_reason=True),
)
# Statuses that claim the work is (about to be) accepted: every prerequisite must be done.
GATED_TARGETS = frozenset({S.SUBMITTED, S.APPROVED})


@dataclass(frozen=True, slots=True)
class Transition:
    """An accepted move and what it implies."""

    source: TaskStatus
    target: TaskStatus

    @property
    def needs_prerequisites_done(self) -> bool:
        """Whether every prerequisite must be APPROVED or WAIVED first."""
        return self.target in GATED_TARGETS

    def stamps(
        self, submitted_at: datetime | None, completed_at: datetime | None, now: datetime
    ) -> tuple[datetime | None, datetime | None]:
        """The new (submittedAt, completedAt) after this move."""
        if self.target == S.SUBMITTED and submitted_at is None:
            submitted_at = now
        if self.target in DONE_STATUSES:
            completed_at = now
        elif self.source in DONE_STATUSES:
            completed_at = None
        return submitted_at, completed_at


class InvalidTransition(BusinessRuleError):
    """No rule moves an instance from this status to that one."""

    def __init__(self, source: TaskStatus, target: TaskStatus, allowed: list[TaskStatus]) -> None:
        names = ", ".join(allowed) or "none"
        super().__init__(
            f"cannot move from {source} to {target}; allowed from {source}: {names}",
            code="INVALID_TRANSITION",
            details=[{"from": source, "to": target, "allowedTargets": list(allowed)}],
        )


class TransitionForbidden(Forbidden):
    """The move exists, but not for this actor (e.g. a supplier approving its own work)."""

    def __init__(
        self, source: TaskStatus, target: TaskStatus, mover: Mover, allowed: list[TaskStatus]
    ) -> None:
        super().__init__(
            f"a {mover} may not move an instance from {source} to {target};"
            f" allowed: {', '.join(allowed) or 'none'}",
            code="TRANSITION_FORBIDDEN",
            details=[{"from": source, "to": target, "allowedTargets": list(allowed)}],
        )


class ReasonRequired(BusinessRuleError):
    """The move needs a reason (reject, block, waive, reopen)."""

    def __init__(self, source: TaskStatus, target: TaskStatus) -> None:
        super().__init__(
            f"moving from {source} to {target} needs a reason",
            code="REASON_REQUIRED",
            details=[{"field": "reason"}],
        )


def allowed_targets(source: TaskStatus, mover: Mover) -> list[TaskStatus]:
    """Every status this mover may move an instance in ``source`` to, in rule order."""
    return [rule.target for rule in RULES if source in rule.sources and mover in rule.movers]


def transition(
    source: TaskStatus, target: TaskStatus, mover: Mover, reason: str | None
) -> Transition:
    """Check one move against the rules; raise why it is refused, or describe it."""
    rule = next((r for r in RULES if source in r.sources and r.target == target), None)
    if rule is None:
        raise InvalidTransition(source, target, allowed_targets(source, mover))
    if mover not in rule.movers:
        raise TransitionForbidden(source, target, mover, allowed_targets(source, mover))
    if rule.needs_reason and not (reason and reason.strip()):
        raise ReasonRequired(source, target)
    return Transition(source, target)
