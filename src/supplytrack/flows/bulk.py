"""Bulk operations as the API and the CLI ask for them: now when small, as a job when large.

Every instance goes through the same rules as a single change: statuses through the status
machine and its prerequisite gate, dates through the date engine. A change that refuses is
refused whole (atomic) or applied to the valid rest (partial, statuses only). Above
BULK_JOB_THRESHOLD rows the operation is queued as a job whose payload is the typed command.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from supplytrack.audit.models import ChangeSource, HistoryField
from supplytrack.audit.service import Why, new_change_id
from supplytrack.bulk.commands import DATES_JOB, STATUS_JOB, DatesJob, StatusJob
from supplytrack.bulk.exceptions import BulkRefused, DateChangeRefused, PreviewStale
from supplytrack.bulk.models import BulkKind, BulkOperation, BulkState
from supplytrack.bulk.schemas import BulkFilter, BulkStatusUpdate, DateChange
from supplytrack.bulk.service import BulkService
from supplytrack.flows.base import Flow
from supplytrack.flows.bulk_dates import DatePlanner
from supplytrack.jobs.models import Job
from supplytrack.jobs.service import JobService
from supplytrack.jobs.worker import JobQueue
from supplytrack.planning.exceptions import ReasonCodeRequired
from supplytrack.projects.service import ProjectService
from supplytrack.tasks.enums import TaskStatus
from supplytrack.tasks.repository import TaskFilter
from supplytrack.tasks.service import TaskService


def status_filter(raw: BulkFilter | None) -> TaskFilter | None:
    """The TaskFilter of a bulk status filter (its due range is inclusive)."""
    if raw is None:
        return None
    return TaskFilter(
        project_id=raw.project_id,
        supplier_id=raw.supplier_id,
        task_template_id=raw.task_template_id,
        statuses=tuple(raw.status or ()),
        due_after=raw.due_from - timedelta(days=1) if raw.due_from else None,
        due_before=raw.due_to + timedelta(days=1) if raw.due_to else None,
    )


class BulkFlows:
    """Bulk status updates, date changes and undos for one actor."""

    def __init__(self, flow: Flow, jobs: JobQueue | None = None) -> None:
        self.flow = flow
        self.jobs = jobs
        self.bulk = BulkService(flow.session, flow.actor)
        self.tasks = TaskService(flow.session, flow.actor)
        self.threshold = flow.settings.bulk_job_threshold

    def _queue(self, operation: BulkOperation, kind: str, total: int, payload: Any) -> Job:
        """The operation's job (QUEUED), handed to the queue once the transaction commits."""
        job = JobService(self.flow.session, self.flow.actor).create(kind, total, payload.dump())
        self.bulk.queued(operation, job.id)
        if self.jobs is not None:
            self.jobs.submit(self.flow.session, job.id)
        return job

    def _common(self, operation: BulkOperation, change_id: str) -> dict[str, Any]:
        return {
            "bulk_operation_id": operation.id,
            "request_id": operation.request_id,
            "change_id": change_id,
            "actor": self.flow.actor.to_payload(),
        }

    # Statuses ---------------------------------------------------------------------------

    def status_update(self, command: BulkStatusUpdate) -> dict[str, Any]:
        """Move instances (by ids or filter) to one status; atomic by default."""
        ids = command.ids
        rows = (
            self.tasks.status_rows(ids=ids)
            if ids is not None
            else self.tasks.status_rows(where=status_filter(command.filter), today=self.flow.today)
        )
        evaluation = self.tasks.evaluate(rows, command.status, command.reason)
        found = {row.id for row in rows}
        for missing in sorted(set(ids or ()) - found):
            evaluation.refuse(missing, "NOT_FOUND", f"task instance {missing} was not found")
        matched = len(ids) if ids is not None else len(rows)
        if evaluation.refused and command.mode == "atomic":
            raise BulkRefused(evaluation.refused, matched)
        operation = self.bulk.start(
            BulkKind.STATUS_UPDATE,
            command.filter.project_id if command.filter else None,
            command.model_dump(mode="json"),
        )
        result = {
            "bulk_operation_id": operation.id,
            "job_id": None,
            "matched": matched,
            "applied": len(evaluation.accepted),
            "unchanged": evaluation.unchanged,
            "refused": evaluation.refused,
        }
        change_id = new_change_id()
        if len(evaluation.accepted) > self.threshold:
            job = self._queue(
                operation,
                STATUS_JOB,
                len(evaluation.accepted),
                StatusJob(
                    **self._common(operation, change_id),
                    ids=[row.id for row in evaluation.accepted],
                    status=command.status,
                    reason=command.reason,
                ),
            )
            return {**result, "job_id": job.id, "state": BulkState.QUEUED}
        why = Why(command.reason, change_id=change_id, bulk_operation_id=operation.id)
        self.tasks.set_statuses(
            [(row.id, row.status, command.status) for row in evaluation.accepted],
            source=ChangeSource.BULK,
            why=why,
        )
        state = BulkState.PARTIAL if evaluation.refused else BulkState.APPLIED
        self.bulk.finish(
            operation,
            state,
            {"applied": len(evaluation.accepted), "refused": len(evaluation.refused)},
        )
        return {**result, "state": state}

    # Dates ------------------------------------------------------------------------------

    def preview_dates(self, project_id: int, change: DateChange) -> dict[str, Any]:
        """What a date change would do and break; writes nothing."""
        ProjectService(self.flow.session, self.flow.actor).get(project_id)
        outcome = DatePlanner(self.flow).outcome(project_id, change)
        return {
            "matched": outcome.matched,
            "moves": outcome.moves,
            "cascaded": outcome.cascaded,
            "sample": outcome.sample(),
            "violations": outcome.violations,
            "preview_token": outcome.token,
        }

    def apply_dates(self, project_id: int, change: DateChange, token: str | None) -> dict[str, Any]:
        """Apply a date change (refused whole if it breaks a rule or differs from the preview)."""
        if change.reason_code is None:
            raise ReasonCodeRequired
        ProjectService(self.flow.session, self.flow.actor).get(project_id)
        outcome = DatePlanner(self.flow).outcome(project_id, change)
        if token is not None and token != outcome.token:
            raise PreviewStale(outcome.token)
        if outcome.violations:
            raise DateChangeRefused(outcome.violations)
        operation = self.bulk.start(BulkKind.DATE_SHIFT, project_id, change.model_dump(mode="json"))
        result = {
            "bulk_operation_id": operation.id,
            "moves": outcome.moves,
            "cascaded": outcome.cascaded,
            "job_id": None,
        }
        change_id = new_change_id()
        if outcome.moves > self.threshold:
            job = self._queue(
                operation,
                DATES_JOB,
                outcome.moves,
                DatesJob(
                    **self._common(operation, change_id), project_ids=[project_id], change=change
                ),
            )
            return {**result, "job_id": job.id, "state": BulkState.QUEUED}
        moved = outcome.apply(Why(change.reason, change.reason_code, change_id, operation.id))
        self.bulk.finish(
            operation, BulkState.APPLIED, {"applied": moved, "cascaded": outcome.cascaded}
        )
        return {**result, "state": BulkState.APPLIED}

    def queue_shift(self, project_ids: list[int], change: DateChange) -> Job:
        """A date change over several projects as one checked operation and one job.

        The whole change is checked first (nothing is written when a rule breaks); the job,
        run by the caller (the CLI), then applies it in chunks.
        """
        if change.reason_code is None:
            raise ReasonCodeRequired
        planner = DatePlanner(self.flow)
        projects = ProjectService(self.flow.session, self.flow.actor)
        total = 0
        for project_id in project_ids:
            projects.get(project_id)
            outcome = planner.outcome(project_id, change)
            if outcome.violations:
                raise DateChangeRefused(outcome.violations)
            total += outcome.moves
        operation = self.bulk.start(
            BulkKind.DATE_SHIFT, None, change.model_dump(mode="json") | {"projectIds": project_ids}
        )
        return self._queue(
            operation,
            DATES_JOB,
            total,
            DatesJob(
                **self._common(operation, new_change_id()), project_ids=project_ids, change=change
            ),
        )

    # Undo -------------------------------------------------------------------------------

    def undo(self, operation_id: int, reason: str | None) -> dict[str, Any]:
        """Revert an operation whole, as a new (audited) operation; 409 if rows changed since."""
        original, rows = self.bulk.undoable(operation_id)
        operation = self.bulk.start(
            BulkKind.UNDO,
            original.project_id,
            {"undoOf": operation_id, "reason": reason},
            undo_of=operation_id,
        )
        why = Why(
            reason or f"undo of bulk operation {operation_id}",
            change_id=new_change_id(),
            bulk_operation_id=operation.id,
        )
        # One revert per (instance, field): back to the value before the operation's first
        # change of it, from the value after its last one.
        first_old: dict[tuple[int, str], str | None] = {}
        last_new: dict[tuple[int, str], str | None] = {}
        for row in rows:
            key = (row.task_instance_id, str(row.field))
            first_old.setdefault(key, row.old_value)
            last_new[key] = row.new_value
        dates = {
            instance: (
                date.fromisoformat(str(last_new[(instance, f)])),
                date.fromisoformat(str(old)),
                ChangeSource.BULK,
            )
            for (instance, f), old in first_old.items()
            if f == HistoryField.ACTUAL_DUE
        }
        statuses = [
            (instance, TaskStatus(str(last_new[(instance, f)])), TaskStatus(str(old)))
            for (instance, f), old in first_old.items()
            if f == HistoryField.STATUS
        ]
        reverted = self.tasks.move_dates(dates, source=ChangeSource.BULK, why=why)
        reverted += self.tasks.set_statuses(statuses, source=ChangeSource.BULK, why=why)
        self.bulk.move(original, BulkState.UNDONE)
        self.bulk.finish(operation, BulkState.APPLIED, {"reverted": reverted})
        return self.bulk.view(operation.id)
