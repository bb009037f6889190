"""What every flow is given: the unit of work's session, the actor and the settings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from supplytrack.audit.models import ChangeSource
from supplytrack.core.identity import Actor
from supplytrack.core.settings import Settings
from supplytrack.core.time import today
from supplytrack.planning.rules import DatePlan


@dataclass(frozen=True, slots=True)
class Flow:
    """A cross-domain operation's surroundings (passed in: nothing is read from globals)."""

    session: Session
    actor: Actor
    settings: Settings

    @property
    def today(self) -> date:
        """Today in APP_TIMEZONE: the day the date rules take as today."""
        return today(self.settings.app_timezone)


def moves_of(
    plan: DatePlan, seed_source: ChangeSource, *, skip: Iterable[int] = ()
) -> dict[int, tuple[date, date, ChangeSource]]:
    """A plan's moves as {id: (old, new, source)}: the seeds' source, CASCADE for the rest."""
    skipped = set(skip)
    return {
        node: (move.old, move.new, ChangeSource.CASCADE if move.cascaded else seed_source)
        for node, move in plan.plan.moves.items()
        if node not in skipped
    }
