"""Bulk operations as the API and the CLI ask for them: now when small, as a job when large."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.orm import Session

from supplytrack.audit.service import Why, new_change_id
from supplytrack.auth.actor import Actor
from supplytrack.bulk.dates import DateBulk
from supplytrack.bulk.exceptions import BulkRefused, DateChangeRefused, NotUndoable, PreviewStale
from supplytrack.bulk.models import BulkKind, BulkOperation, BulkState
from supplytrack.bulk.processors import (
    DATES_JOB,
    STATUS_JOB,
    actor_payload,
    status_filter,
)
from supplytrack.bulk.repository import BulkRepository
from supplytrack.bulk.status import StatusBulk
from supplytrack.bulk.undo import Undo
from supplytrack.bulk.uniform import UniformShift, is_uniform
from supplytrack.core.context import current_request_id
from supplytrack.core.errors import NotFound
from supplytrack.core.time import today, utcnow
from supplytrack.jobs.dispatch import dispatch_after_commit
from supplytrack.jobs.models import Job
from supplytrack.jobs.service import JobService
from supplytrack.projects.service import ProjectService
from supplytrack.schedule.exceptions import ReasonCodeRequired
from supplytrack.tasks.enums import TaskStatus
from supplytrack.tasks.sets import InstanceSets


@dataclass(frozen=True, slots=True)
class DateOutcome:
    """What a date change does to one project, and how to apply it."""

    moves: int
    matched: int
    cascaded: int
    token: str
    violations: list[dict[str, Any]]
    sample: Callable[[], list[dict[str, Any]]]
    apply: Callable[[Why], int]


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    """Request values as plain JSON (dates as ISO text, nested filters included)."""
    result: dict[str, Any] = orjson.loads(orjson.dumps(values))
    return result


class BulkService:
    """Runs bulk status updates, date changes and undos, and reads bulk operations."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor
        self.operations = BulkRepository(session)
        # The settings of the database this session works on (tests run several at once).
        self.threshold = session.info["database"].settings.bulk_job_threshold

    def _operation(
        self,
        kind: BulkKind,
        project_id: int | None,
        params: dict[str, Any],
        undo_of: int | None = None,
    ) -> BulkOperation:
        return self.operations.add(
            BulkOperation(
                kind=kind,
                state=BulkState.RUNNING,
                project_id=project_id,
                actor_id=self.actor.token_id,
                actor=self.actor.label,
                request_id=current_request_id(),
                params=params,
                summary={},
                undo_of_id=undo_of,
            )
        )

    def _queue(
        self,
        operation: BulkOperation,
        kind: str,
        total: int,
        extra: dict[str, Any],
        *,
        dispatch: bool = True,
    ) -> Job:
        payload = {
            "bulkOperationId": operation.id,
            "requestId": operation.request_id,
            "actor": actor_payload(self.actor),
            "changeId": new_change_id(),
            **extra,
        }
        job = JobService(self.session, self.actor).create(kind, total, payload)
        operation.job_id = job.id
        self.session.flush()
        if dispatch:
            dispatch_after_commit(self.session, job.id)
        return job

    @staticmethod
    def _finish(operation: BulkOperation, state: BulkState, summary: dict[str, Any]) -> None:
        operation.state = state
        operation.summary = summary
        operation.finished_at = utcnow()

    def status_update(self, body: dict[str, Any]) -> dict[str, Any]:
        """Move instances (by ids or filter) to one status; atomic by default."""
        tasks = InstanceSets(self.session, self.actor)
        ids: list[int] | None = body.get("ids")
        rows = (
            tasks.status_rows(ids=ids)
            if ids is not None
            else tasks.status_rows(where=status_filter(body["filter"]), today=today())
        )
        target = TaskStatus(body["status"])
        bulk = StatusBulk(self.session, self.actor)
        evaluation = bulk.evaluate(rows, target, body.get("reason"))
        found = {row.id for row in rows}
        for missing in sorted(set(ids or ()) - found):
            evaluation.refuse(missing, "NOT_FOUND", f"task instance {missing} was not found")
        matched = len(ids) if ids is not None else len(rows)
        if evaluation.refused and body.get("mode", "atomic") == "atomic":
            raise BulkRefused(evaluation.refused, matched)
        operation = self._operation(
            BulkKind.STATUS_UPDATE,
            (body.get("filter") or {}).get("project_id"),
            _jsonable(body),
        )
        result = {
            "bulk_operation_id": operation.id,
            "job_id": None,
            "matched": matched,
            "applied": len(evaluation.accepted),
            "unchanged": evaluation.unchanged,
            "refused": evaluation.refused,
        }
        if len(evaluation.accepted) > self.threshold:
            job = self._queue(
                operation,
                STATUS_JOB,
                len(evaluation.accepted),
                {
                    "ids": [row.id for row in evaluation.accepted],
                    "status": target.value,
                    "reason": body.get("reason"),
                },
            )
            return {**result, "job_id": job.id, "state": BulkState.RUNNING}
        why = Why(body.get("reason"), change_id=new_change_id(), bulk_operation_id=operation.id)
        bulk.apply(evaluation.accepted, target, why)
        state = BulkState.PARTIAL if evaluation.refused else BulkState.APPLIED
        self._finish(
            operation,
            state,
            {"applied": len(evaluation.accepted), "refused": len(evaluation.refused)},
        )
        return {**result, "state": state}

    def _outcome(self, project_id: int, change: dict[str, Any], why: Why) -> DateOutcome:
        """What the change does to one project, by the cheapest exact means."""
        if is_uniform(change):
            project = ProjectService(self.session, self.actor).get(project_id)
            shift = UniformShift(self.session, self.actor, change)
            summary = shift.summary(project)
            return DateOutcome(
                moves=summary["count"],
                matched=summary["count"],
                cascaded=0,
                token=summary["token"],
                violations=shift.violations(project, summary, why),
                sample=lambda: shift.sample(project_id),
                apply=lambda applied_why: shift.apply(project_id, applied_why),
            )
        bulk = DateBulk(self.session, self.actor)
        planned = bulk.plan(project_id, change)
        return DateOutcome(
            moves=len(planned.plan.moves),
            matched=planned.matched,
            cascaded=planned.cascaded,
            token=planned.token(),
            violations=bulk.violations(planned, why),
            sample=planned.sample,
            apply=lambda applied_why: bulk.apply(
                planned, applied_why, skip_supplier_projects=set()
            ),
        )

    def preview_dates(self, project_id: int, change: dict[str, Any]) -> dict[str, Any]:
        """What a date change would do and break; writes nothing."""
        outcome = self._outcome(
            project_id, change, Why(change.get("reason"), change.get("reason_code"))
        )
        return {
            "matched": outcome.matched,
            "moves": outcome.moves,
            "cascaded": outcome.cascaded,
            "sample": outcome.sample(),
            "violations": outcome.violations,
            "preview_token": outcome.token,
        }

    def apply_dates(
        self, project_id: int, change: dict[str, Any], token: str | None
    ) -> dict[str, Any]:
        """Apply a date change (refused whole if it breaks a rule or differs from the preview)."""
        if change.get("reason_code") is None:
            raise ReasonCodeRequired
        why = Why(change.get("reason"), change.get("reason_code"), new_change_id())
        outcome = self._outcome(project_id, change, why)
        if token is not None and token != outcome.token:
            raise PreviewStale(outcome.token)
        if outcome.violations:
            raise DateChangeRefused(outcome.violations)
        operation = self._operation(BulkKind.DATE_SHIFT, project_id, _jsonable(change))
        result = {
            "bulk_operation_id": operation.id,
            "moves": outcome.moves,
            "cascaded": outcome.cascaded,
            "job_id": None,
        }
        if outcome.moves > self.threshold:
            job = self._queue(
                operation,
                DATES_JOB,
                outcome.moves,
                {
                    "projectIds": [project_id],
                    "change": _jsonable(change),
                    "reason": change.get("reason"),
                    "reasonCode": change.get("reason_code"),
                },
            )
            return {**result, "job_id": job.id, "state": BulkState.RUNNING}
        moved = outcome.apply(Why(why.reason, why.reason_code, why.change_id, operation.id))
        self._finish(operation, BulkState.APPLIED, {"applied": moved, "cascaded": outcome.cascaded})
        return {**result, "state": BulkState.APPLIED}

    def queue_shift(self, project_ids: list[int], change: dict[str, Any]) -> Job:
        """A date change over several projects as one checked operation and one job.

        The whole change is checked first (nothing is written when a rule breaks); the job,
        run by the caller (the CLI), then applies it in chunks.
        """
        if change.get("reason_code") is None:
            raise ReasonCodeRequired
        why = Why(change.get("reason"), change.get("reason_code"))
        total = 0
        for project_id in project_ids:
            outcome = self._outcome(project_id, change, why)
            if outcome.violations:
                raise DateChangeRefused(outcome.violations)
            total += outcome.moves
        operation = self._operation(
            BulkKind.DATE_SHIFT, None, _jsonable(change) | {"projectIds": project_ids}
        )
        return self._queue(
            operation,
            DATES_JOB,
            total,
            {
                "projectIds": project_ids,
                "change": _jsonable(change),
                "reason": change.get("reason"),
                "reasonCode": change.get("reason_code"),
            },
            dispatch=False,
        )

    def get(self, operation_id: int) -> dict[str, Any]:
        """An operation with the counts of what it changed."""
        operation = self.operations.get(operation_id)
        if operation is None:
            raise NotFound("bulk operation", operation_id)
        instances, by_field = self.operations.change_counts(operation_id)
        return {
            **{
                c: getattr(operation, c)
                for c in (
                    "id",
                    "kind",
                    "state",
                    "project_id",
                    "actor",
                    "request_id",
                    "params",
                    "summary",
                    "job_id",
                    "undo_of_id",
                    "created_at",
                    "finished_at",
                )
            },
            "changed_instances": instances,
            "changes_by_field": by_field,
        }

    def undo(self, operation_id: int, reason: str | None) -> dict[str, Any]:
        """Revert an operation whole, as a new (audited) operation."""
        original = self.operations.get(operation_id, for_update=True)
        if original is None:
            raise NotFound("bulk operation", operation_id)
        if original.state not in {BulkState.APPLIED, BulkState.PARTIAL} or (
            original.kind == BulkKind.UNDO
        ):
            raise NotUndoable(operation_id, original.state)
        operation = self._operation(
            BulkKind.UNDO,
            original.project_id,
            {"undoOf": operation_id, "reason": reason},
            operation_id,
        )
        why = Why(
            reason or f"undo of bulk operation {operation_id}",
            change_id=new_change_id(),
            bulk_operation_id=operation.id,
        )
        reverted = Undo(self.session, self.actor).revert(operation_id, why)
        original.state = BulkState.UNDONE
        self._finish(operation, BulkState.APPLIED, {"reverted": reverted})
        return self.get(operation.id)
