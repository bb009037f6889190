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
from supplytrack.core.backup import file_digest
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
    """The same day ``years`` later; 29 February becomes 1 March in a common year.

    The later day of the two: a record is never kept a day short.
    """
    year = day.year + years
    if day.month == 2 and day.day == 29 and not calendar.isleap(year):
        return date(year, 3, 1)
    return day.replace(year=year)


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
        # Locked: a disposal of it (which share-locks its suppliers, :meth:`_lock`) waits.
        if self.session.get(model, project_id or supplier_id, with_for_update=True) is None:
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

    def _due(self, project: Project, day: date, held: tuple[set[int], list[int]]) -> Due:
        """One closed project as retention sees it on ``day``."""
        assert project.closed_at is not None
        held_projects, held_suppliers = held
        # The customer may ask for longer, never for less than the policy.
        years = max(project.retention_years or 0, self.settings.retention_years)
        scope = self._disposable(project.id, held_suppliers)
        instances = self.session.scalar(select(func.count()).select_from(T).where(scope))
        history = self.session.scalar(
            select(func.count())
            .select_from(H)
            .where(H.task_instance_id.in_(select(T.id).where(scope)))
        )
        last_change = self.session.scalar(
            select(func.max(H.changed_at)).where(
                H.task_instance_id.in_(select(T.id).where(T.project_id == project.id))
            )
        )
        # A record written after the project closed is kept as long, from its own day.
        closed_on = self._closed_on(project.closed_at)
        if last_change is not None:
            closed_on = max(closed_on, self._closed_on(last_change))
        kept_until = add_years(closed_on, years)
        touched = self.session.scalars(
            select(T.supplier_id)
            .distinct()
            .where(T.project_id == project.id, T.supplier_id.in_(held_suppliers))
        ).all()
        is_held = project.id in held_projects
        return Due(
            project_id=project.id,
            code=project.code,
            status=project.status.value,
            closed_on=closed_on,
            years=years,
            kept_until=kept_until,
            held=is_held,
            due=day > kept_until and not is_held and bool(instances or history),
            instances=int(instances or 0),
            history_rows=int(history or 0),
            held_suppliers=sorted(touched),
        )

    def plan(self, as_of: date | None = None) -> list[Due]:
        """Every closed project with its last day kept, its holds and what apply would delete."""
        day = as_of or today(self.settings.app_timezone)
        held = self._held()
        rows = self.session.scalars(
            select(Project)
            .where(Project.status.in_(CLOSED_PROJECT_STATUSES), Project.closed_at.is_not(None))
            .order_by(Project.id)
        ).all()
        return [self._due(project, day, held) for project in rows]

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

    def _lock(self, project_id: int) -> Project | None:
        """The project and its instances locked, and its suppliers share-locked.

        A PATCH of one of its instances waits (and then finds it gone: 404), so the bundle
        holds exactly what is deleted; a hold placed on the project or one of its suppliers
        (which locks that row, :meth:`hold`) waits for this transaction or is seen by it.
        On SQLite the write transaction keeps every other writer out already.
        """
        project = self.session.get(Project, project_id, with_for_update=True)
        if project is None or self.session.get_bind().dialect.name != "postgresql":
            return project
        self.session.execute(select(T.id).where(T.project_id == project_id).with_for_update()).all()
        self.session.execute(
            select(Supplier.id)
            .where(Supplier.id.in_(select(T.supplier_id).where(T.project_id == project_id)))
            .with_for_update(read=True)
        ).all()
        return project

    def dispose(self, run_id: int, project_id: int, as_of: date, directory: Path) -> dict[str, Any]:
        """Export one due project's bundle, then delete its instances and history.

        All in this one transaction, checked again after the locks (:meth:`_lock`): the bundle
        is on disk (synced) before anything is deleted, and holds what is deleted.
        """
        project = self._lock(project_id)
        if (
            project is None
            or project.status not in CLOSED_PROJECT_STATUSES
            or project.closed_at is None
        ):
            return {"projectId": project_id, "skipped": "no longer closed"}
        held = self._held()
        due = self._due(project, as_of, held)
        if not due.due:
            return {"projectId": project_id, "skipped": "no longer due"}
        bundle = directory / f"retention-{run_id}-project-{project_id}.zip"
        BundleWriter(self.session, self.actor, self.settings).write(
            Scope("project", project_id), bundle
        )
        scope = select(T.id).where(self._disposable(project_id, held[1]))
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
            "sha256": file_digest(bundle)[1],
        }
        self.audit.log(
            AuditEntity.RETENTION,
            run_id,
            [("disposed", None, done)],
            source=ChangeSource.SYSTEM,
            why=Why(reason=f"past retention ({due.years} years after {due.closed_on})"),
        )
        return done

    def prune_access_log(self, run_id: int, directory: Path) -> tuple[int, str | None]:
        """Access-log entries past ACCESS_LOG_RETENTION_DAYS (a held supplier's kept).

        Exported first, to a bundle of their own; (how many went, that bundle's name).
        """
        cutoff = utcnow() - timedelta(days=self.settings.access_log_retention_days)
        bundle = directory / f"retention-{run_id}-access-log.zip"
        manifest = BundleWriter(self.session, self.actor, self.settings).write_access_log(
            cutoff, bundle
        )
        if not manifest["files"][0]["rows"]:
            bundle.unlink()
            return 0, None
        return AccessLogReader(self.session).prune_before(cutoff), bundle.name

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
