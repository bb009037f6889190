"""Retention after IATF 16949 clause 7.5.3.2.1, with legal holds (issue 13 item 3).

A COMPLETED or ARCHIVED project's records are kept for its retention years (the project's
own, or RETENTION_YEARS) counted from the day it closed (``closed_at`` in APP_TIMEZONE): the
last day kept is that day plus the years; from the day after, its task instances and their
history are due for disposal. Reopening a project clears ``closed_at`` (the clock stops; a
new closing starts it again). A legal hold on the project keeps all of it; a hold on a
supplier keeps that supplier's instances in every project, and its access log.

``apply`` exports each due project's bundle first (flows/bundle.py), then, in one
transaction per project: the tombstones of the history rows it deletes (id, chain, hash:
what the signed checkpoints need), the history, the instances, and an audit row. The
project, its milestones, assignments, calendar and audit log are kept: they say what was
there. Access-log entries past ACCESS_LOG_RETENTION_DAYS go too, but a held supplier's.
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, literal, select, text
from sqlalchemy.orm import Session

from supplytrack.audit.access import AccessLogReader
from supplytrack.audit.models import AuditEntity, ChangeSource, TaskInstanceHistory
from supplytrack.audit.retention_models import HistoryTombstone, LegalHold, RetentionRun
from supplytrack.audit.service import AuditService, Why, record_of
from supplytrack.core import chain
from supplytrack.core.errors import BusinessRuleError, Conflict, NotFound
from supplytrack.core.identity import Actor
from supplytrack.core.settings import Settings
from supplytrack.core.time import today, utcnow
from supplytrack.flows.bundle import BundleWriter, Scope
from supplytrack.projects.models import CLOSED_PROJECT_STATUSES, Project
from supplytrack.suppliers.models import Supplier
from supplytrack.tasks.models import TaskInstance

T = TaskInstance
H = TaskInstanceHistory


def add_years(day: date, years: int) -> date:
    """The same day ``years`` later (29 February becomes 28 February in a common year)."""
    year = day.year + years
    return day.replace(year=year, day=min(day.day, calendar.monthrange(year, day.month)[1]))


@dataclass(slots=True)
class Due:
    """A closed project as retention sees it on one day."""

    project_id: int
    code: str
    status: str
    closed_on: date
    years: int
    kept_until: date  # the last day its records are kept
    held: bool  # a legal hold on the project itself
    due: bool  # past retention and not held: `apply` disposes of it
    instances: int  # what `apply` would delete (held suppliers' left out)
    history_rows: int
    held_suppliers: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """As `retention plan --json` prints it."""
        values = asdict(self)
        for name in ("closed_on", "kept_until"):
            values[name] = values[name].isoformat()
        return values


class RetentionFlows:
    """Plan, apply and hold retention for one actor (the CLI's, or an admin)."""

    def __init__(self, session: Session, actor: Actor, settings: Settings) -> None:
        self.session = session
        self.actor = actor
        self.settings = settings
        self.audit = AuditService(session, actor)

    # Holds ---------------------------------------------------------------------------------

    def hold(self, *, project_id: int | None, supplier_id: int | None, reason: str) -> LegalHold:
        """Place a legal hold on a project or a supplier (audited)."""
        if (project_id is None) == (supplier_id is None) or not reason.strip():
            raise BusinessRuleError(
                "a hold names exactly one project or supplier, and a reason", code="HOLD_SCOPE"
            )
        model: Any = Project if project_id is not None else Supplier
        if self.session.get(model, project_id or supplier_id) is None:
            raise NotFound("project" if project_id is not None else "supplier", project_id or 0)
        held = LegalHold(
            project_id=project_id,
            supplier_id=supplier_id,
            reason=reason.strip(),
            placed_at=utcnow(),
            placed_by=self.actor.label,
        )
        self.session.add(held)
        self.session.flush()
        self.audit.created(AuditEntity.HOLD, held.id, record_of(held), source=ChangeSource.SYSTEM)
        return held

    def release(self, hold_id: int) -> LegalHold:
        """Release a hold (audited); its records are due again once past retention."""
        held = self.session.get(LegalHold, hold_id, with_for_update=True)
        if held is None:
            raise NotFound("legal hold", hold_id)
        if held.released_at is not None:
            raise Conflict(f"legal hold {hold_id} was released already", code="HOLD_RELEASED")
        before = record_of(held)
        held.released_at, held.released_by = utcnow(), self.actor.label
        self.session.flush()
        self.audit.changed(
            AuditEntity.HOLD, held.id, before, record_of(held), source=ChangeSource.SYSTEM
        )
        return held

    def holds(self, *, include_released: bool = False) -> Sequence[LegalHold]:
        """Every hold in place (and the released ones, when asked), oldest first."""
        stmt = select(LegalHold).order_by(LegalHold.id)
        if not include_released:
            stmt = stmt.where(LegalHold.released_at.is_(None))
        return self.session.scalars(stmt).all()

    def _held(self) -> tuple[set[int], list[int]]:
        projects: set[int] = set()
        suppliers: list[int] = []
        for held in self.holds():
            if held.project_id is not None:
                projects.add(held.project_id)
            elif held.supplier_id is not None:
                suppliers.append(held.supplier_id)
        return projects, sorted(set(suppliers))

    # The plan ------------------------------------------------------------------------------

    def _closed_on(self, moment: datetime) -> date:
        zone = ZoneInfo(self.settings.app_timezone)
        return moment.astimezone(zone).date()

    def _disposable(self, project_id: int, held_suppliers: Sequence[int]) -> Any:
        condition = T.project_id == project_id
        if held_suppliers:
            condition = condition & T.supplier_id.not_in(held_suppliers)
        return condition

    def plan(self, as_of: date | None = None) -> list[Due]:
        """Every closed project with its last day kept, its holds and what apply would delete."""
        day = as_of or today(self.settings.app_timezone)
        held_projects, held_suppliers = self._held()
        rows = self.session.scalars(
            select(Project)
            .where(Project.status.in_(CLOSED_PROJECT_STATUSES), Project.closed_at.is_not(None))
            .order_by(Project.id)
        ).all()
        found = []
        for project in rows:
            assert project.closed_at is not None
            years = project.retention_years or self.settings.retention_years
            closed_on = self._closed_on(project.closed_at)
            kept_until = add_years(closed_on, years)
            held = project.id in held_projects
            scope = self._disposable(project.id, held_suppliers)
            instances = self.session.scalar(select(func.count()).select_from(T).where(scope))
            history = self.session.scalar(
                select(func.count())
                .select_from(H)
                .where(H.task_instance_id.in_(select(T.id).where(scope)))
            )
            touched = self.session.scalars(
                select(T.supplier_id)
                .distinct()
                .where(T.project_id == project.id, T.supplier_id.in_(held_suppliers))
            ).all()
            found.append(
                Due(
                    project_id=project.id,
                    code=project.code,
                    status=project.status.value,
                    closed_on=closed_on,
                    years=years,
                    kept_until=kept_until,
                    held=held,
                    due=day > kept_until and not held,
                    instances=int(instances or 0),
                    history_rows=int(history or 0),
                    held_suppliers=sorted(touched),
                )
            )
        return found

    # Applying it ---------------------------------------------------------------------------

    def start(self, as_of: date) -> RetentionRun:
        """The run's record (its id names the bundles and the tombstones)."""
        if self.settings.audit_signing_key is None:
            raise Conflict(
                "AUDIT_SIGNING_KEY is not set: retention exports a signed bundle before it"
                " deletes anything",
                code="AUDIT_KEY_MISSING",
            )
        run = RetentionRun(started_at=utcnow(), actor=self.actor.label, as_of=as_of, summary={})
        self.session.add(run)
        self.session.flush()
        return run

    def export(self, run_id: int, project_id: int, directory: Path) -> tuple[Path, str]:
        """The project's bundle, written before anything of it is deleted; its SHA-256."""
        target = directory / f"retention-{run_id}-project-{project_id}.zip"
        BundleWriter(self.session, self.actor, self.settings).write(
            Scope("project", project_id), target
        )
        digest = hashlib.sha256()
        with open(target, "rb") as handle:
            while chunk := handle.read(1 << 16):
                digest.update(chunk)
        return target, digest.hexdigest()

    def dispose(
        self, run_id: int, project_id: int, as_of: date, bundle: Path, sha256: str
    ) -> dict[str, Any]:
        """Delete one due project's instances and history (checked again, in this transaction)."""
        project = self.session.get(Project, project_id, with_for_update=True)
        due = next((d for d in self.plan(as_of) if d.project_id == project_id), None)
        if project is None or due is None or not due.due:
            return {"projectId": project_id, "skipped": "no longer due"}
        _, held_suppliers = self._held()
        scope = select(T.id).where(self._disposable(project_id, held_suppliers))
        connection = self.session.connection()
        connection.execute(
            insert(HistoryTombstone).from_select(
                ["id", "task_instance_id", "row_hash", "retention_run_id"],
                select(H.id, H.task_instance_id, H.row_hash, literal(run_id)).where(
                    H.task_instance_id.in_(scope)
                ),
            )
        )
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT set_config(:name, 'on', true)"), {"name": chain.DISPOSAL_SETTING}
            )
        with chain.disposing():
            history = connection.execute(delete(H).where(H.task_instance_id.in_(scope))).rowcount
        instances = connection.execute(delete(T).where(T.id.in_(scope))).rowcount
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT set_config(:name, 'off', true)"), {"name": chain.DISPOSAL_SETTING}
            )
        done = {
            "projectId": project_id,
            "code": project.code,
            "instances": int(instances or 0),
            "historyRows": int(history or 0),
            "heldSuppliers": due.held_suppliers,
            "bundle": bundle.name,
            "sha256": sha256,
        }
        self.audit.log(
            AuditEntity.RETENTION,
            run_id,
            [("disposed", None, done)],
            source=ChangeSource.SYSTEM,
            why=Why(reason=f"past retention ({due.years} years after {due.closed_on})"),
        )
        return done

    def prune_access_log(self) -> int:
        """Access-log entries past ACCESS_LOG_RETENTION_DAYS, but a held supplier's."""
        days = timedelta(days=self.settings.access_log_retention_days)
        return AccessLogReader(self.session).prune(days)

    def finish(self, run_id: int, summary: dict[str, Any]) -> RetentionRun:
        """Record what the run did (audited)."""
        run = self.session.get(RetentionRun, run_id)
        assert run is not None
        run.summary, run.finished_at = summary, utcnow()
        self.session.flush()
        self.audit.created(
            AuditEntity.RETENTION,
            run.id,
            {"asOf": run.as_of, "startedAt": run.started_at, **summary},
            source=ChangeSource.SYSTEM,
        )
        return run
