"""Bulk status updates: every instance through transition() and the prerequisite gate."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from supplytrack.audit.models import ChangeSource, HistoryField
from supplytrack.audit.service import AuditService, Change, Why
from supplytrack.auth.actor import Actor
from supplytrack.core.db import AnyRow
from supplytrack.core.errors import SupplyTrackError
from supplytrack.core.time import utcnow
from supplytrack.tasks.enums import DONE_STATUSES, TaskStatus
from supplytrack.tasks.sets import InstanceSets
from supplytrack.tasks.state_machine import GATED_TARGETS, Mover, transition


class Evaluation:
    """Which instances may move, which may not (and why), which are there already."""

    def __init__(self) -> None:
        self.accepted: list[AnyRow] = []
        self.refused: list[dict[str, Any]] = []
        self.unchanged = 0

    def refuse(self, instance_id: int, code: str, message: str) -> None:
        """Record one refusal."""
        self.refused.append({"taskInstanceId": instance_id, "code": code, "message": message})


class StatusBulk:
    """Evaluate and apply a target status over many instances."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.tasks = InstanceSets(session, actor)
        self.audit = AuditService(session, actor)
        self.mover = Mover.SUPPLIER if actor.is_supplier else Mover.MANAGER

    def evaluate(
        self, rows: Sequence[AnyRow], target: TaskStatus, reason: str | None
    ) -> Evaluation:
        """Run each row through the status machine, then the gate, as a single PATCH would."""
        result = Evaluation()
        for row in rows:
            if row.status == target:
                result.unchanged += 1
                continue
            try:
                transition(row.status, target, self.mover, reason)
            except SupplyTrackError as error:
                result.refuse(row.id, error.code, error.message)
                continue
            result.accepted.append(row)
        if target in GATED_TARGETS and result.accepted:
            self._gate(result, target)
        return result

    def _gate(self, result: Evaluation, target: TaskStatus) -> None:
        # Prerequisites approved by this very operation count as done.
        done_with_batch = {row.id for row in result.accepted} if target in DONE_STATUSES else set()
        blocked: dict[int, list[int]] = {}
        for dependent, prerequisite, _status in self.tasks.unfinished_prerequisites(
            [row.id for row in result.accepted]
        ):
            if prerequisite not in done_with_batch:
                blocked.setdefault(dependent, []).append(prerequisite)
        if not blocked:
            return
        kept = []
        for row in result.accepted:
            if row.id in blocked:
                open_ids = ", ".join(map(str, blocked[row.id]))
                result.refuse(
                    row.id,
                    "PREREQUISITES_OPEN",
                    f"prerequisites {open_ids} are not APPROVED or WAIVED",
                )
            else:
                kept.append(row)
        result.accepted = kept

    def apply(self, rows: Sequence[AnyRow], target: TaskStatus, why: Why) -> int:
        """Move the accepted rows set-based and write one BULK history row each."""
        if not rows:
            return 0
        now = utcnow()
        for source_done in (True, False):
            ids = [row.id for row in rows if (row.status in DONE_STATUSES) == source_done]
            if ids:
                self.tasks.set_status(ids, target, now, source_done=source_done)
        self.audit.record(
            [Change(row.id, HistoryField.STATUS, row.status, target) for row in rows],
            source=ChangeSource.BULK,
            why=why,
        )
        return len(rows)
