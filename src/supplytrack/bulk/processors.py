"""Bulk work as job chunks: each chunk is one transaction that also advances the job."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from supplytrack.audit.service import Why
from supplytrack.auth.actor import Actor
from supplytrack.auth.models import Role
from supplytrack.bulk.dates import DateBulk
from supplytrack.bulk.models import BulkState
from supplytrack.bulk.repository import BulkRepository
from supplytrack.bulk.status import StatusBulk
from supplytrack.bulk.uniform import UniformShift, is_uniform
from supplytrack.core.time import today, utcnow
from supplytrack.jobs.models import Job, JobState
from supplytrack.jobs.runner import ChunkResult, register
from supplytrack.suppliers.models import SupplierProject
from supplytrack.tasks.enums import TaskStatus
from supplytrack.tasks.repository import TaskFilter
from supplytrack.tasks.sets import InstanceSets
from supplytrack.templates.models import TaskTemplate

STATUS_JOB = "bulk-status"
DATES_JOB = "bulk-dates"


def actor_of(payload: dict[str, Any]) -> Actor:
    """The actor who asked for the job (kept in its payload)."""
    who = payload["actor"]
    return Actor(who["tokenId"], Role(who["role"]), who["name"], who.get("supplierId"))


def actor_payload(actor: Actor) -> dict[str, Any]:
    """How a job remembers its actor."""
    return {
        "tokenId": actor.token_id,
        "role": actor.role.value,
        "name": actor.name,
        "supplierId": actor.supplier_id,
    }


def why_of(payload: dict[str, Any]) -> Why:
    """The audit reason of the job's changes."""
    return Why(
        payload.get("reason"),
        payload.get("reasonCode"),
        payload.get("changeId"),
        payload["bulkOperationId"],
    )


def status_filter(raw: dict[str, Any] | None) -> TaskFilter | None:
    """The TaskFilter of a bulk status filter (inclusive due range)."""
    if raw is None:
        return None
    due_from, due_to = _day(raw.get("due_from")), _day(raw.get("due_to"))
    return TaskFilter(
        project_id=raw.get("project_id"),
        supplier_id=raw.get("supplier_id"),
        task_template_id=raw.get("task_template_id"),
        statuses=tuple(TaskStatus(s) for s in raw.get("status") or ()),
        due_after=due_from - timedelta(days=1) if due_from else None,
        due_before=due_to + timedelta(days=1) if due_to else None,
    )


def _day(value: object) -> date | None:
    """A date from a request body (a date) or a job payload (its ISO text)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def process_status_chunk(session: Session, job: Job, size: int) -> ChunkResult:
    """Evaluate and apply the next chunk of instances (in id order) of a status job."""
    payload = job.payload
    actor = actor_of(payload)
    tasks = InstanceSets(session, actor)
    ids = payload.get("ids")
    if ids is not None:
        chunk_ids = [i for i in ids if job.cursor is None or i > job.cursor][:size]
        rows = tasks.status_rows(ids=chunk_ids) if chunk_ids else []
        done = len(chunk_ids) < size or chunk_ids[-1] == ids[-1]
    else:
        rows = tasks.status_rows(
            where=status_filter(payload["filter"]), today=today(), after_id=job.cursor, limit=size
        )
        done = len(rows) < size
    bulk = StatusBulk(session, actor)
    target = TaskStatus(payload["status"])
    evaluation = bulk.evaluate(rows, target, payload.get("reason"))
    applied = bulk.apply(evaluation.accepted, target, why_of(payload))
    cursor = rows[-1].id if rows else job.cursor
    return ChunkResult(cursor, applied, len(evaluation.refused), done)


def _next_assignments(
    session: Session, project_ids: list[int], after: int | None, size: int
) -> tuple[dict[int, list[int]], bool]:
    """The next assignments (by id) holding at most about ``size`` instances, per project.

    An assignment holds at most one instance per milestone of its project, so the chunk
    takes ``size // milestones`` assignments: a bound, read from small tables only.
    """
    milestones = (
        session.execute(
            select(func.count())
            .select_from(TaskTemplate)
            .where(TaskTemplate.project_id.in_(project_ids))
            .group_by(TaskTemplate.project_id)
        )
        .scalars()
        .all()
    )
    take = max(1, size // max(milestones, default=1))
    stmt = (
        select(SupplierProject.id, SupplierProject.project_id)
        .where(SupplierProject.project_id.in_(project_ids))
        .order_by(SupplierProject.id)
        .limit(take)
    )
    if after is not None:
        stmt = stmt.where(SupplierProject.id > after)
    rows = session.execute(stmt).all()
    picked: dict[int, list[int]] = {}
    for supplier_project_id, project_id in rows:
        picked.setdefault(project_id, []).append(supplier_project_id)
    return picked, len(rows) < take


def process_dates_chunk(session: Session, job: Job, size: int) -> ChunkResult:
    """Plan and apply the change for the next assignments; skip any that now break a rule."""
    payload = job.payload
    actor = actor_of(payload)
    bulk = DateBulk(session, actor)
    why = why_of(payload)
    picked, done = _next_assignments(session, payload["projectIds"], job.cursor, size)
    applied = failed = 0
    if is_uniform(payload["change"]):
        shift = UniformShift(session, actor, payload["change"])
        applied = sum(
            shift.apply(project_id, why, assignments) for project_id, assignments in picked.items()
        )
        picked_items: dict[int, list[int]] = {}
    else:
        picked_items = picked
    for project_id, assignments in picked_items.items():
        planned = bulk.plan(project_id, payload["change"], supplier_project_ids=assignments)
        broken = {
            planned.loaded.supplier_project_of[detail["taskInstanceId"]]
            for violation in bulk.violations(planned, why)
            for detail in violation["details"]
            if detail.get("taskInstanceId") in planned.loaded.supplier_project_of
        }
        failed += sum(
            1 for node in planned.plan.moves if planned.loaded.supplier_project_of[node] in broken
        )
        applied += bulk.apply(planned, why, skip_supplier_projects=broken)
    last = max((sp for sps in picked.values() for sp in sps), default=job.cursor)
    return ChunkResult(last, applied, failed, done or not picked)


def finish(session: Session, job: Job) -> None:
    """Record how the job ended on its bulk operation."""
    operation = BulkRepository(session).get(job.payload["bulkOperationId"], for_update=True)
    if operation is None:
        return
    states = {
        JobState.SUCCEEDED: BulkState.PARTIAL if job.failed else BulkState.APPLIED,
        JobState.FAILED: BulkState.FAILED,
        JobState.CANCELLED: BulkState.CANCELLED,
    }
    operation.state = states.get(job.state, BulkState.FAILED)
    operation.finished_at = utcnow()
    operation.summary = {**operation.summary, "applied": job.processed, "failed": job.failed}


register(STATUS_JOB, process_status_chunk, finish)
register(DATES_JOB, process_dates_chunk, finish)
