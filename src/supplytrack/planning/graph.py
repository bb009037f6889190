"""Dependency graphs of templates: pure functions, no database.

A graph maps each template id to the ids it depends on (its prerequisites).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import TypeVar

Graph = Mapping[int, Iterable[int]]
N = TypeVar("N", bound=Hashable)


def find_cycle(graph: Graph) -> list[int] | None:
    """A cycle of the graph as a path ``[a, b, ..., a]`` (a depends on b ...), or None."""
    white, grey, black = 0, 1, 2
    colour: dict[int, int] = {}
    nodes = set(graph)
    for prerequisites in graph.values():
        nodes.update(prerequisites)
    for start in sorted(nodes):
        if colour.get(start, white) != white:
            continue
        # Iterative depth-first search: the path so far and, per node, what is left to visit.
        path: list[int] = [start]
        pending: list[list[int]] = [sorted(graph.get(start, ()))]
        colour[start] = grey
        while path:
            if not pending[-1]:
                colour[path.pop()] = black
                pending.pop()
                continue
            child = pending[-1].pop()
            state = colour.get(child, white)
            if state == grey:
                return [*path[path.index(child) :], child]
            if state == white:
                colour[child] = grey
                path.append(child)
                pending.append(sorted(graph.get(child, ())))
    return None


def with_edges(
    graph: Graph, template_id: int, prerequisites: Iterable[int]
) -> dict[int, list[int]]:
    """A copy of the graph where ``template_id`` depends on exactly ``prerequisites``."""
    copy = {node: list(edges) for node, edges in graph.items()}
    copy[template_id] = list(prerequisites)
    return copy


def dependents(graph: Mapping[N, Iterable[N]]) -> dict[N, list[N]]:
    """The reverse graph: for each node, the nodes that depend on it."""
    reverse: dict[N, list[N]] = {}
    for node, prerequisites in graph.items():
        for prerequisite in prerequisites:
            reverse.setdefault(prerequisite, []).append(node)
    return reverse


def downstream(graph: Graph, start: int) -> list[int]:
    """Every template that depends on ``start``, directly or not, in breadth-first order."""
    reverse = dependents(graph)
    seen: set[int] = {start}
    order: list[int] = []
    frontier = [start]
    while frontier:
        following: list[int] = []
        for node in frontier:
            for child in sorted(reverse.get(node, ())):
                if child not in seen:
                    seen.add(child)
                    order.append(child)
                    following.append(child)
        frontier = following
    return order
