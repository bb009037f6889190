"""One project's milestone schedule: which milestones, their prerequisites, dates and slack."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from supplytrack.demo.catalog import MILESTONES, Milestone

# A dependent is due at least this long after each of its prerequisites.
MIN_GAP_DAYS = 14
# How far one supplier's copy of a milestone may be moved either way.
MAX_SHIFT_DAYS = 30
# How late a milestone that nothing depends on may slip for one supplier.
END_SLACK_DAYS = 21
# How long a submission waits for the customer's review, at most.
REVIEW_DAYS = 28

_INDEX = {milestone.key: index for index, milestone in enumerate(MILESTONES)}
_BY_KEY = {milestone.key: milestone for milestone in MILESTONES}


@dataclass(frozen=True, slots=True)
class PlannedMilestone:
    """A milestone of one project with its canonical due date.

    ``slack_before`` and ``slack_after`` bound how far a supplier's copy may move earlier or
    later: a quarter of the room beyond MIN_GAP_DAYS to the nearest prerequisite and
    dependent, so that even when a prerequisite moves later and its dependent earlier, the
    dependent is still due MIN_GAP_DAYS after it, and half the room is left for the review.
    ``review_days``: how long before it was done a supplier's copy was submitted.
    """

    milestone: Milestone
    due: date
    depends_on: tuple[str, ...]
    slack_before: int
    slack_after: int
    review_days: int


def pick_milestones(rng: random.Random, count: int) -> list[Milestone]:
    """The core milestones plus a random choice of the others, ``count`` in all, in plan order."""
    if count >= len(MILESTONES):
        return list(MILESTONES)
    core = [milestone.key for milestone in MILESTONES if milestone.core]
    optional = [milestone.key for milestone in MILESTONES if not milestone.core]
    chosen = set(core) | set(rng.sample(optional, max(0, count - len(core))))
    return [milestone for milestone in MILESTONES if milestone.key in chosen]


def prerequisites(chosen: list[Milestone]) -> dict[str, tuple[str, ...]]:
    """Each chosen milestone's nearest chosen ancestors (through the milestones left out)."""
    keys = {milestone.key for milestone in chosen}

    def nearest(key: str) -> set[str]:
        if key in keys:
            return {key}
        return set().union(*(nearest(parent) for parent in _BY_KEY[key].after))

    return {
        milestone.key: tuple(
            sorted(set().union(*(nearest(key) for key in milestone.after)), key=_INDEX.__getitem__)
        )
        for milestone in chosen
    }


def schedule(
    rng: random.Random, start: date, sop: date, chosen: list[Milestone]
) -> list[PlannedMilestone]:
    """Date the chosen milestones inside start..sop, in order, sorted by due date."""
    depends_on = prerequisites(chosen)
    due = _due_dates(rng, start, sop, chosen, depends_on)
    dependents: dict[str, list[str]] = {milestone.key: [] for milestone in chosen}
    for key, parents in depends_on.items():
        for parent in parents:
            dependents[parent].append(key)
    before = {m.key: _slack_before(m.key, due, depends_on[m.key], start) for m in chosen}
    after = {m.key: _slack_after(m.key, due, dependents[m.key]) for m in chosen}
    planned = [
        PlannedMilestone(
            milestone,
            due[milestone.key],
            depends_on[milestone.key],
            before[milestone.key],
            after[milestone.key],
            _review_days(milestone.key, due, depends_on[milestone.key], before, after),
        )
        for milestone in chosen
    ]
    return sorted(planned, key=lambda item: (item.due, _INDEX[item.milestone.key]))


def _due_dates(
    rng: random.Random,
    start: date,
    sop: date,
    chosen: list[Milestone],
    depends_on: dict[str, tuple[str, ...]],
) -> dict[str, date]:
    window = (sop - start).days
    due: dict[str, date] = {}
    for milestone in chosen:  # plan order: every prerequisite is dated first
        day = start + timedelta(days=round(milestone.phase * window) + rng.randint(-2, 2))
        for key in depends_on[milestone.key]:
            day = max(day, due[key] + timedelta(days=MIN_GAP_DAYS))
        if not start <= day <= sop:
            msg = f"{milestone.key} due {day} falls outside the window {start}..{sop}"
            raise ValueError(msg)
        due[milestone.key] = day
    return due


def _review_days(
    key: str,
    due: dict[str, date],
    parents: tuple[str, ...],
    before: dict[str, int],
    after: dict[str, int],
) -> int:
    """How long a submission of this milestone waits for review.

    It was submitted that long before it is done, and a submission needs every prerequisite
    done: so it is shorter than the smallest gap to a prerequisite that moves can leave
    (at least MIN_GAP_DAYS), less 4 days for the pace jitter of the SQL.
    """
    if not parents:
        return REVIEW_DAYS
    room = min((due[key] - due[p]).days - after[p] - before[key] for p in parents) - 4
    return min(REVIEW_DAYS, room)


def _clip(days: int) -> int:
    return max(0, min(MAX_SHIFT_DAYS, days))


def _slack_before(key: str, due: dict[str, date], parents: tuple[str, ...], start: date) -> int:
    if not parents:
        return _clip((due[key] - start).days // 2)
    return _clip(min((due[key] - due[parent]).days - MIN_GAP_DAYS for parent in parents) // 4)


def _slack_after(key: str, due: dict[str, date], children: list[str]) -> int:
    if not children:
        return END_SLACK_DAYS
    return _clip(min((due[child] - due[key]).days - MIN_GAP_DAYS for child in children) // 4)
