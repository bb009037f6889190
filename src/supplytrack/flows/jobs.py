"""The job kinds: bulk work and data checks, each chunk one transaction that also advances the job.

Registered with the job runner when this module is imported; whoever runs jobs (the API with
QUEUE_INLINE, ``supplytrack worker``, ``supplytrack bulk``) imports it.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from supplytrack.audit.access import prune_expired
from supplytrack.audit.models import ChangeSource, ReasonCode
from supplytrack.audit.service import Why
from supplytrack.bulk.commands import DATES_JOB, STATUS_JOB, DatesJob, StatusJob, parse
from supplytrack.bulk.models import BulkState
from supplytrack.bulk.service import BulkService
from supplytrack.core.identity import system_actor
from supplytrack.core.settings import Settings
from supplytrack.flows.base import Flow
from supplytrack.flows.bulk import status_filter
from supplytrack.flows.bulk_dates import DatePlanner, is_uniform
from supplytrack.flows.checks import (
    DATA_CHECK_JOB,
    finish_checks,
    prepare_check,
    process_check_chunk,
    run_scheduled,
)
from supplytrack.jobs.models import Job, JobState
from supplytrack.jobs.runner import ChunkResult, JobKind, register
from supplytrack.jobs.worker import every_minute
from supplytrack.planning.rules import violations
from supplytrack.suppliers.service import AssignmentService
from supplytrack.tasks.service import TaskService
from supplytrack.templates.service import TemplateService


def _why(command: StatusJob | DatesJob, reason: str | None, code: ReasonCode | None = None) -> Why:
    return Why(reason, code, command.change_id, command.bulk_operation_id)


def process_status_chunk(session: Session, job: Job, settings: Settings) -> ChunkResult:
    """Evaluate and apply the next chunk of instances (in id order) of a status job."""
    command = parse(STATUS_JOB, job.payload)
    assert isinstance(command, StatusJob)
    flow = Flow(session, command.who, settings)
    tasks = TaskService(session, flow.actor)
    size = settings.bulk_chunk_size
    if command.ids is not None:
        chunk_ids = [i for i in command.ids if job.cursor is None or i > job.cursor][:size]
        rows = tasks.status_rows(ids=chunk_ids) if chunk_ids else []
        done = len(chunk_ids) < size or chunk_ids[-1] == command.ids[-1]
    else:
        rows = tasks.status_rows(
            where=status_filter(command.filter), today=flow.today, after_id=job.cursor, limit=size
        )
        done = len(rows) < size
    evaluation = tasks.evaluate(rows, command.status, command.reason)
    applied = tasks.set_statuses(
        [(row.id, row.status, command.status) for row in evaluation.accepted],
        source=ChangeSource.BULK,
        why=_why(command, command.reason),
    )
    cursor = rows[-1].id if rows else job.cursor
    return ChunkResult(cursor, applied, len(evaluation.refused), done)


def process_dates_chunk(session: Session, job: Job, settings: Settings) -> ChunkResult:
    """Plan and apply the change for the next assignments; skip any that now break a rule."""
    command = parse(DATES_JOB, job.payload)
    assert isinstance(command, DatesJob)
    flow = Flow(session, command.who, settings)
    change = command.change
    why = _why(command, change.reason, change.reason_code)
    # An assignment holds at most one instance per milestone of its project, so a chunk of
    # about bulk_chunk_size instances takes size // milestones assignments.
    milestones = TemplateService(session, flow.actor).most_milestones(command.project_ids)
    take = max(1, settings.bulk_chunk_size // milestones)
    rows = AssignmentService(session, flow.actor).next_of_projects(
        command.project_ids, job.cursor, take
    )
    picked: dict[int, list[int]] = {}
    for supplier_project_id, project_id in rows:
        picked.setdefault(project_id, []).append(supplier_project_id)
    planner = DatePlanner(flow)
    applied = failed = 0
    for project_id, assignments in picked.items():
        if is_uniform(change):
            # Checked whole when queued: each chunk is one UPDATE and one history INSERT.
            scope = planner.tasks.shift_scope(
                project_id,
                change.shift_days or 0,
                supplier_ids=change.supplier_ids,
                supplier_project_ids=assignments,
            )
            applied += planner.tasks.shift(scope, why=why)
            continue
        context = planner.context(project_id)
        planned = planner.plan(context, change, supplier_project_ids=assignments)
        broken = {
            planned.assignment_of(detail["taskInstanceId"])
            for error in violations(planned.plan, context)
            for detail in error.details
            if isinstance(detail, dict) and "taskInstanceId" in detail
        }
        failed += sum(
            1 for node in planned.plan.plan.moves if planned.assignment_of(node) in broken
        )
        applied += planner.apply(planned, why, skip=[b for b in broken if b is not None])
    last = rows[-1][0] if rows else job.cursor
    return ChunkResult(last, applied, failed, len(rows) < take)


def start(session: Session, job: Job) -> None:
    """A worker took the job: its bulk operation is RUNNING now."""
    service = BulkService(session, system_actor("jobs"))
    operation = service.get_for_update(job.payload["bulkOperationId"])
    if operation.state == BulkState.QUEUED:
        service.move(operation, BulkState.RUNNING)


def finish(session: Session, job: Job) -> None:
    """Record how the job ended on its bulk operation."""
    service = BulkService(session, system_actor("jobs"))
    operation = service.get_for_update(job.payload["bulkOperationId"])
    states = {
        JobState.SUCCEEDED: BulkState.PARTIAL if job.failed else BulkState.APPLIED,
        JobState.FAILED: BulkState.FAILED,
        JobState.CANCELLED: BulkState.CANCELLED,
    }
    service.finish(
        operation,
        states.get(job.state, BulkState.FAILED),
        {"applied": job.processed, "failed": job.failed},
    )


register(STATUS_JOB, JobKind(process_status_chunk, finish, start))
register(DATES_JOB, JobKind(process_dates_chunk, finish, start))
register(DATA_CHECK_JOB, JobKind(process_check_chunk, finish_checks, prepare=prepare_check))
every_minute("data_checks", run_scheduled)
every_minute("access_log_retention", prune_expired)
