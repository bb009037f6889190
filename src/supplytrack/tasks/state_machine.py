"""The status machine of a task instance (SPEC section 2), as ordered rules. Pure: no database.

``transition()`` decides whether one actor may move one instance from one status to another
and what else the move implies: the columns it writes (status, submittedAt, completedAt) and
whether every prerequisite must be done first. Everything that moves a status (single PATCH,
bulk, jobs) goes through it; the ORM path and the set-based path both write its
:class:`StatusColumns`, and an undo writes those of :func:`status_columns` for the way back.
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


class Stamp(enum.Enum):
    """What a status move does to one timestamp column."""

    KEEP = "keep"
    SET = "set"  # to now
    SET_IF_EMPTY = "set if empty"  # to now, the first time only
    CLEAR = "clear"

    def value_after(self, current: datetime | None, now: datetime) -> datetime | None:
        """The column's value after the move, from its value before."""
        if self is Stamp.SET or (self is Stamp.SET_IF_EMPTY and current is None):
            return now
        if self is Stamp.CLEAR:
            return None
        return current


@dataclass(frozen=True, slots=True)
class StatusColumns:
    """The columns a status move writes: the status, and what happens to each timestamp."""

    status: TaskStatus
    submitted_at: Stamp
    completed_at: Stamp


def status_columns(source: TaskStatus, target: TaskStatus) -> StatusColumns:
    """The columns a move from ``source`` to ``target`` writes (SPEC section 2).

    submittedAt is set the first time an instance is submitted; completedAt is set by APPROVED
    and WAIVED and cleared when such an instance is reopened.
    """
    if target in DONE_STATUSES:
        completed = Stamp.SET
    elif source in DONE_STATUSES:
        completed = Stamp.CLEAR
    else:
        completed = Stamp.KEEP
    submitted = Stamp.SET_IF_EMPTY if target == S.SUBMITTED else Stamp.KEEP
    return StatusColumns(target, submitted, completed)


@dataclass(frozen=True, slots=True)
class Transition:
    """An accepted move and what it implies."""

    source: TaskStatus
    target: TaskStatus

    @property
    def needs_prerequisites_done(self) -> bool:
        """Whether every prerequisite must be APPROVED or WAIVED first."""
        return self.target in GATED_TARGETS

    @property
    def columns(self) -> StatusColumns:
        """The columns this move writes."""
        return status_columns(self.source, self.target)


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
