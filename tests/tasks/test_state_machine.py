"""The status machine against SPEC section 2's table, written out independently here."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supplytrack.tasks.enums import TaskStatus
from supplytrack.tasks.state_machine import (
    InvalidTransition,
    Mover,
    ReasonRequired,
    TransitionForbidden,
    allowed_targets,
    transition,
)

S = TaskStatus
SUP, MGR = "supplier", "manager"
# (from, to) -> (who may, reason required), copied from SPEC section 2 by hand.
SPEC_TABLE: dict[tuple[TaskStatus, TaskStatus], tuple[set[str], bool]] = {
    (S.NOT_STARTED, S.IN_PROGRESS): ({SUP, MGR}, False),
    (S.IN_PROGRESS, S.SUBMITTED): ({SUP, MGR}, False),
    (S.SUBMITTED, S.APPROVED): ({MGR}, False),
    (S.SUBMITTED, S.REJECTED): ({MGR}, True),
    (S.REJECTED, S.IN_PROGRESS): ({SUP, MGR}, False),
    (S.REJECTED, S.SUBMITTED): ({SUP, MGR}, False),
    (S.NOT_STARTED, S.BLOCKED): ({SUP, MGR}, True),
    (S.IN_PROGRESS, S.BLOCKED): ({SUP, MGR}, True),
    (S.REJECTED, S.BLOCKED): ({SUP, MGR}, True),
    (S.BLOCKED, S.IN_PROGRESS): ({SUP, MGR}, False),
    (S.NOT_STARTED, S.WAIVED): ({MGR}, True),
    (S.IN_PROGRESS, S.WAIVED): ({MGR}, True),
    (S.SUBMITTED, S.WAIVED): ({MGR}, True),
    (S.REJECTED, S.WAIVED): ({MGR}, True),
    (S.BLOCKED, S.WAIVED): ({MGR}, True),
    (S.APPROVED, S.IN_PROGRESS): ({MGR}, True),
    (S.WAIVED, S.IN_PROGRESS): ({MGR}, True),
}
statuses = st.sampled_from(list(TaskStatus))
movers = st.sampled_from(list(Mover))
reasons = st.one_of(st.none(), st.just(""), st.just("   "), st.text(min_size=1, max_size=20))


@given(source=statuses, target=statuses, mover=movers, reason=reasons)
def test_transition_matches_the_spec_table(
    source: TaskStatus, target: TaskStatus, mover: Mover, reason: str | None
) -> None:
    expected = SPEC_TABLE.get((source, target))
    has_reason = bool(reason and reason.strip())
    if expected is None:
        with pytest.raises(InvalidTransition) as refused:
            transition(source, target, mover, reason)
        assert refused.value.details[0]["allowedTargets"] == allowed_targets(source, mover)
        return
    who, needs_reason = expected
    if mover.value not in who:
        with pytest.raises(TransitionForbidden):
            transition(source, target, mover, reason)
    elif needs_reason and not has_reason:
        with pytest.raises(ReasonRequired):
            transition(source, target, mover, reason)
    else:
        move = transition(source, target, mover, reason)
        assert (move.source, move.target) == (source, target)


@pytest.mark.parametrize("mover", list(Mover))
@pytest.mark.parametrize("source", list(TaskStatus))
def test_allowed_targets_are_exactly_the_spec_moves(source: TaskStatus, mover: Mover) -> None:
    expected = {to for (frm, to), (who, _) in SPEC_TABLE.items() if frm == source and mover in who}
    assert set(allowed_targets(source, mover)) == expected


@given(
    steps=st.lists(st.tuples(movers, st.integers(min_value=0, max_value=50)), max_size=40),
)
def test_random_walks_keep_the_timestamp_invariants(steps: list[tuple[Mover, int]]) -> None:
    status = S.NOT_STARTED
    submitted_at: datetime | None = None
    completed_at: datetime | None = None
    now = datetime(2026, 1, 1, tzinfo=UTC)
    first_submission: datetime | None = None
    for mover, pick in steps:
        choices = allowed_targets(status, mover)
        if not choices:
            continue
        target = choices[pick % len(choices)]
        now += timedelta(hours=1)
        move = transition(status, target, mover, "because")
        columns = move.columns
        assert columns.status == target
        submitted_at = columns.submitted_at.value_after(submitted_at, now)
        completed_at = columns.completed_at.value_after(completed_at, now)
        status = target
        if status == S.SUBMITTED and first_submission is None:
            first_submission = now
        # completedAt is set exactly in the done states; submittedAt once submitted, never reset.
        assert (completed_at is not None) == (status in {S.APPROVED, S.WAIVED})
        if status in {S.SUBMITTED, S.APPROVED}:
            assert submitted_at is not None
        assert submitted_at == first_submission
        if mover == Mover.SUPPLIER:
            assert status not in {S.APPROVED, S.WAIVED}


def test_gated_targets_need_prerequisites() -> None:
    assert transition(S.IN_PROGRESS, S.SUBMITTED, Mover.SUPPLIER, None).needs_prerequisites_done
    assert transition(S.SUBMITTED, S.APPROVED, Mover.MANAGER, None).needs_prerequisites_done
    assert not transition(
        S.NOT_STARTED, S.IN_PROGRESS, Mover.SUPPLIER, None
    ).needs_prerequisites_done
