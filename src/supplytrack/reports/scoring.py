"""The supplier score (0-100) and rating: pure functions, documented in the API docs."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

SCORE_FORMULA = (
    "score = round(100 x (0.5 x onTimeRate + 0.3 x firstPassRate + 0.2 x (1 - overdueShare))),"
    " where onTimeRate = submissions on or before actualDue / submissions, firstPassRate ="
    " approvals never REJECTED before / approvals, overdueShare = open overdue tasks / tasks"
    " due (capped at 1). A supplier with fewer APPROVED tasks in the window than"
    " minCompleted (default 5) is NOT_RATED and has no score."
)


def rate(part: int, whole: int) -> float | None:
    """Part / whole rounded to 4 places (None when there is no whole)."""
    return None if whole == 0 else round(part / whole, 4)


@dataclass(frozen=True, slots=True)
class Score:
    """A supplier's rating."""

    rated: bool
    value: int | None


def score(
    on_time: int,
    submitted: int,
    first_pass: int,
    approved: int,
    open_overdue: int,
    tasks_due: int,
    min_completed: int,
) -> Score:
    """The score of the formula above, exact (fractions) so both engines agree to the unit."""
    if approved < min_completed or submitted == 0 or approved == 0:
        return Score(False, None)
    overdue_share = min(Fraction(1), Fraction(open_overdue, tasks_due)) if tasks_due else 0
    total = 100 * (
        Fraction(1, 2) * Fraction(on_time, submitted)
        + Fraction(3, 10) * Fraction(first_pass, approved)
        + Fraction(1, 5) * (1 - overdue_share)
    )
    return Score(True, int(total + Fraction(1, 2)))  # round half up
