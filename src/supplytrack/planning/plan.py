"""Plan date moves on a dependency graph. Pure: no database.

Nodes are templates (dates = canonical dates) or the task instances of one supplier on one
project (dates = actual due dates); ``graph`` maps a node to its prerequisites. A plan starts
from seed moves, optionally cascades them downstream, and reports every dependency the result
would break. Callers refuse the whole operation when anything is broken, so a refused plan
changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Generic, TypeVar

from supplytrack.planning.graph import dependents

N = TypeVar("N", bound=Hashable)
# How a cascade moves a dependent: its old date and the delta of the move upstream.
Shift = Callable[[date, int], date]


@dataclass(frozen=True, slots=True)
class Move(Generic[N]):
    """One node's date changing."""

    node: N
    old: date
    new: date
    cascaded: bool


@dataclass(slots=True)
class Plan(Generic[N]):
    """The moves a change makes, and the dependencies it would break."""

    moves: dict[N, Move[N]] = field(default_factory=dict)
    # (prerequisite, dependent) pairs whose dates would be out of order.
    broken: list[tuple[N, N]] = field(default_factory=list)

    def new_date(self, node: N, dates: Mapping[N, date]) -> date:
        """The date of ``node`` after the plan."""
        move = self.moves.get(node)
        return move.new if move else dates[node]


def plan_moves(
    graph: Mapping[N, Iterable[N]],
    dates: Mapping[N, date],
    seeds: Mapping[N, date],
    *,
    cascade: bool,
    delta_of: Callable[[date, date], int],
    shift: Shift,
) -> Plan[N]:
    """Apply ``seeds``; with ``cascade``, push every downstream node later by the same delta.

    ``delta_of(old, new)`` measures a move (calendar or working days) and ``shift(old, delta)``
    applies one. A node reached from several moved nodes takes the latest date they give it,
    so no dependency ends up out of order because of the cascade itself.
    """
    plan: Plan[N] = Plan()
    for node, new in seeds.items():
        if new != dates[node]:
            plan.moves[node] = Move(node, dates[node], new, cascaded=False)
    if cascade:
        _cascade(graph, dates, plan, delta_of, shift)
    plan.broken = broken_dependencies(graph, lambda node: plan.new_date(node, dates))
    return plan


def _cascade(
    graph: Mapping[N, Iterable[N]],
    dates: Mapping[N, date],
    plan: Plan[N],
    delta_of: Callable[[date, date], int],
    shift: Shift,
) -> None:
    reverse = dependents(graph)
    # Work outward from each moved node; revisit a node only when it is pushed later still.
    pending = [node for node, move in plan.moves.items() if move.new > move.old]
    while pending:
        node = pending.pop()
        move = plan.moves[node]
        delta = delta_of(move.old, move.new)
        for child in reverse.get(node, ()):
            if child not in dates:
                continue  # not present for this supplier (capability): no date to move
            target = shift(dates[child], delta)
            current = plan.moves.get(child)
            if target <= (current.new if current else dates[child]):
                continue
            plan.moves[child] = Move(
                child, dates[child], target, cascaded=current is None or current.cascaded
            )
            pending.append(child)


def broken_dependencies(
    graph: Mapping[N, Iterable[N]], date_of: Callable[[N], date]
) -> list[tuple[N, N]]:
    """Every (prerequisite, dependent) pair where the dependent is due before the prerequisite."""
    broken = []
    for node, prerequisites in graph.items():
        for prerequisite in prerequisites:
            try:
                if date_of(node) < date_of(prerequisite):
                    broken.append((prerequisite, node))
            except KeyError:
                continue  # one side absent (capability): nothing to order
    return broken


def topological_order(graph: Mapping[N, Iterable[N]]) -> list[N]:
    """Nodes with every prerequisite before its dependents (the graph must be acyclic)."""
    indegree: dict[N, int] = dict.fromkeys(graph, 0)
    reverse = dependents(graph)
    for node, prerequisites in graph.items():
        for prerequisite in prerequisites:
            indegree.setdefault(prerequisite, 0)
            indegree[node] += 1
    ready = [node for node, count in indegree.items() if count == 0]
    order: list[N] = []
    while ready:
        node = ready.pop()
        order.append(node)
        for child in reverse.get(node, ()):
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    return order


def repair(graph: Mapping[N, Iterable[N]], dates: Mapping[N, date]) -> Plan[N]:
    """Moves that put every dependent on or after its latest prerequisite (never earlier).

    Used after fan-out adds instances next to ones a supplier had already moved: one pass in
    dependency order gives the smallest later dates that restore the order.
    """
    plan: Plan[N] = Plan()
    for node in topological_order(graph):
        if node not in dates:
            continue
        latest = max(
            (plan.new_date(p, dates) for p in graph.get(node, ()) if p in dates),
            default=dates[node],
        )
        if latest > dates[node]:
            plan.moves[node] = Move(node, dates[node], latest, cascaded=True)
    return plan
