"""Property tests of the pure dependency-graph functions."""

import itertools

from hypothesis import given
from hypothesis import strategies as st

from supplytrack.planning.graph import dependents, downstream, find_cycle, with_edges


@st.composite
def dags(draw: st.DrawFn) -> dict[int, list[int]]:
    """A random DAG: node i may only depend on nodes with a smaller number."""
    size = draw(st.integers(min_value=1, max_value=25))
    graph: dict[int, list[int]] = {}
    for node in range(size):
        prerequisites = draw(st.lists(st.integers(0, node - 1), unique=True)) if node else []
        graph[node] = prerequisites
    return graph


def _is_cycle(graph: dict[int, list[int]], cycle: list[int]) -> bool:
    return (
        len(cycle) >= 2
        and cycle[0] == cycle[-1]
        and all(b in graph.get(a, []) for a, b in itertools.pairwise(cycle))
    )


@given(dags())
def test_a_dag_has_no_cycle(graph: dict[int, list[int]]) -> None:
    assert find_cycle(graph) is None


@given(dags(), st.data())
def test_a_back_edge_makes_a_cycle_that_is_reported_truthfully(
    graph: dict[int, list[int]], data: st.DataObject
) -> None:
    # Make some node depend on one of its own dependents (or itself): a cycle.
    node = data.draw(st.sampled_from(sorted(graph)))
    later = [node, *downstream(graph, node)]
    target = data.draw(st.sampled_from(later))
    changed = with_edges(graph, node, [*graph[node], target])
    cycle = find_cycle(changed)
    assert cycle is not None
    assert _is_cycle(changed, cycle)


@given(dags())
def test_downstream_is_the_transitive_closure_of_dependents(graph: dict[int, list[int]]) -> None:
    reverse = dependents(graph)
    for node in graph:
        reached: set[int] = set()
        stack = list(reverse.get(node, []))
        while stack:
            current = stack.pop()
            if current not in reached:
                reached.add(current)
                stack.extend(reverse.get(current, []))
        order = downstream(graph, node)
        assert set(order) == reached
        assert len(order) == len(set(order))
