"""The move planner over random dependency graphs and shifts, by property."""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from supplytrack.planning.plan import broken_dependencies, plan_moves, repair


@st.composite
def plans(draw: st.DrawFn) -> tuple[dict[int, list[int]], dict[int, date]]:
    """A random DAG with dates that respect it (every dependent after its prerequisites)."""
    size = draw(st.integers(1, 20))
    graph: dict[int, list[int]] = {}
    dates: dict[int, date] = {}
    base = date(2027, 1, 1)
    for node in range(size):
        prerequisites = draw(st.lists(st.integers(0, node - 1), unique=True)) if node else []
        graph[node] = prerequisites
        floor = max((dates[p] for p in prerequisites), default=base)
        dates[node] = floor + timedelta(days=draw(st.integers(0, 30)))
    return graph, dates


def _days(old: date, new: date) -> int:
    return (new - old).days


def _shift(old: date, delta: int) -> date:
    return old + timedelta(days=delta)


@given(plans(), st.data(), st.booleans())
def test_accepted_plans_keep_order_and_move_each_node_once(
    case: tuple[dict[int, list[int]], dict[int, date]], data: st.DataObject, cascade: bool
) -> None:
    graph, dates = case
    seeds = data.draw(
        st.dictionaries(st.sampled_from(sorted(graph)), st.integers(-20, 40), max_size=4)
    )
    plan = plan_moves(
        graph,
        dates,
        {n: dates[n] + timedelta(days=d) for n, d in seeds.items()},
        cascade=cascade,
        delta_of=_days,
        shift=_shift,
    )
    # Every move really changes a date, and each node moves at most once (a dict by node).
    assert all(
        move.old == dates[node] and move.new != move.old for node, move in plan.moves.items()
    )
    after = {n: plan.new_date(n, dates) for n in graph}
    # 'broken' is exactly the set of out-of-order pairs after the plan: an accepted plan
    # (nothing broken) leaves every dependent on or after its prerequisites.
    assert sorted(plan.broken) == sorted(broken_dependencies(graph, after.__getitem__))
    if cascade:
        # A cascade never moves a node earlier than where it was, except the seeds themselves.
        for move in plan.moves.values():
            if move.cascaded:
                assert move.new > move.old
        # With only later moves, a cascade repairs everything downstream of the seeds.
        if all(d >= 0 for d in seeds.values()):
            assert plan.broken == []


@given(plans(), st.data())
def test_cascade_moves_every_downstream_node_by_the_same_amount(
    case: tuple[dict[int, list[int]], dict[int, date]], data: st.DataObject
) -> None:
    graph, dates = case
    node = data.draw(st.sampled_from(sorted(graph)))
    delta = data.draw(st.integers(1, 30))
    plan = plan_moves(
        graph,
        dates,
        {node: dates[node] + timedelta(days=delta)},
        cascade=True,
        delta_of=_days,
        shift=_shift,
    )
    from supplytrack.planning.graph import downstream

    for child in downstream(graph, node):
        assert plan.moves[child].new == dates[child] + timedelta(days=delta)
    assert set(plan.moves) == {node, *downstream(graph, node)}


@given(plans(), st.data())
def test_repair_restores_order_with_the_smallest_later_dates(
    case: tuple[dict[int, list[int]], dict[int, date]], data: st.DataObject
) -> None:
    graph, dates = case
    # Push some nodes later by hand (as a supplier might have), then repair.
    pushed = data.draw(st.dictionaries(st.sampled_from(sorted(graph)), st.integers(1, 40)))
    moved = {n: d + timedelta(days=pushed.get(n, 0)) for n, d in dates.items()}
    plan = repair(graph, moved)
    after = {n: plan.new_date(n, moved) for n in graph}
    assert broken_dependencies(graph, after.__getitem__) == []
    for node, move in plan.moves.items():
        assert move.new > move.old
        assert move.new == max(after[p] for p in graph[node])
