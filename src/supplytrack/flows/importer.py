"""Import historic task instances from CSV: the one way past dates get in, audited as IMPORT.

Columns (header row required): projectCode, supplierCode, templateName, status, actualDue,
and optionally submittedAt, completedAt (ISO 8601 instants), notes. Each row names an existing
assignment and milestone; a missing instance is created when the supplier has the capability.
The whole file is one transaction: any bad row refuses the file and writes nothing; a dry run
checks and counts everything and always rolls back.

Past dates are allowed; every other date rule holds. After the rows are applied, the date
engine checks each touched assignment: a due date before an open prerequisite's (or out of
the valid range) refuses the file, naming the lines in the way.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from supplytrack.audit.models import AuditEntity, ChangeSource, HistoryField
from supplytrack.audit.service import AuditService, Change, Why, new_change_id, record_of
from supplytrack.core.identity import Actor
from supplytrack.core.schemas import control_character_error
from supplytrack.core.time import FIRST_DAY, LAST_DAY, in_day_range, today, utcnow
from supplytrack.planning.plan import Move, Plan, broken_dependencies
from supplytrack.planning.repository import PlanningRepository
from supplytrack.planning.rules import DatePlan, Subject, violations
from supplytrack.projects.service import ProjectService
from supplytrack.suppliers.service import AssignmentService, SupplierService
from supplytrack.tasks.enums import DONE_STATUSES, TaskStatus
from supplytrack.tasks.models import TaskInstance
from supplytrack.tasks.service import TaskService
from supplytrack.templates.service import TemplateService

REQUIRED = ("projectCode", "supplierCode", "templateName", "status", "actualDue")
MAX_ERRORS = 200


@dataclass
class ImportReport:
    """What an import did (or would do)."""

    rows: int = 0
    created: int = 0
    changed_fields: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


class ImportRowError(ValueError):
    """One row cannot be imported."""


class InstanceImporter:
    """Applies CSV rows to task instances, bypassing the date rules, with IMPORT history."""

    def __init__(self, session: Session, actor: Actor, source_name: str, zone: str) -> None:
        self.session = session
        self.audit = AuditService(session, actor)
        self.projects = ProjectService(session, actor)
        self.suppliers = SupplierService(session, actor)
        self.assignments = AssignmentService(session, actor)
        self.templates = TemplateService(session, actor)
        self.tasks = TaskService(session, actor)
        self.source_name = source_name
        self.why = Why(reason=f"imported from {source_name}", change_id=new_change_id())
        self.zone = zone
        self._cache: dict[tuple[str, str], int] = {}
        # instance id -> (line, old due, new due, project id, assignment id)
        self._moved: dict[int, tuple[int, date, date, int, int]] = {}

    def run(self, lines: Iterable[str]) -> ImportReport:
        """Import every row; errors are collected with their line numbers."""
        report = ImportReport()
        reader = csv.DictReader(lines)
        missing = [name for name in REQUIRED if name not in (reader.fieldnames or [])]
        if missing:
            report.errors.append(f"header: missing columns {', '.join(missing)}")
            return report
        for line_number, row in _numbered(reader):
            report.rows += 1
            try:
                self._apply(row, report, line_number)
            except ImportRowError as error:
                report.errors.append(f"line {line_number}: {error}")
                if len(report.errors) >= MAX_ERRORS:
                    report.errors.append("too many errors; stopped")
                    break
        if not report.errors:
            report.errors.extend(self._order_errors())
        if not report.errors:
            # The run itself, beside the history rows it wrote (same change id).
            self.audit.log(
                AuditEntity.IMPORT,
                0,
                [
                    (
                        "imported",
                        None,
                        {
                            "file": self.source_name,
                            "rows": report.rows,
                            "created": report.created,
                            "changedFields": report.changed_fields,
                            "unchanged": report.unchanged,
                        },
                    )
                ],
                source=ChangeSource.IMPORT,
                why=self.why,
            )
        return report

    def _order_errors(self) -> list[str]:
        """The date engine's verdict on every touched assignment, as lines in the way."""
        planning = PlanningRepository(self.session)
        line_of = {node: moved[0] for node, moved in self._moved.items()}
        errors: list[str] = []
        for project_id in sorted({moved[3] for moved in self._moved.values()}):
            context = planning.context(project_id, today(self.zone))
            instances = planning.instances(
                context,
                supplier_project_ids=sorted(
                    {m[4] for m in self._moved.values() if m[3] == project_id}
                ),
                include_removed=True,
            )
            moves = {
                node: Move(node, old, new, cascaded=False)
                for node, (_line, old, new, project, _sp) in self._moved.items()
                if project == project_id and node in instances.dates
            }
            plan = DatePlan(
                Subject.INSTANCES,
                Plan(moves, broken_dependencies(instances.graph, instances.dates.__getitem__)),
                instances.dates,
                imported=True,
            )
            errors.extend(
                _in_the_way(detail, line_of, error.code)
                for error in violations(plan, context)
                for detail in error.details
            )
        return errors[:MAX_ERRORS]

    def _apply(self, row: dict[str, str], report: ImportReport, line: int) -> None:
        for column, value in row.items():
            problem = control_character_error(value) if isinstance(value, str) else None
            if problem is not None:
                raise ImportRowError(f"{column}: {problem}")
        status = _status(row["status"])
        due = _day(row["actualDue"], "actualDue")
        submitted = _instant(row.get("submittedAt"), "submittedAt")
        completed = _instant(row.get("completedAt"), "completedAt")
        now = utcnow()
        completed = (completed or now) if status in DONE_STATUSES else None
        if status in {TaskStatus.SUBMITTED, TaskStatus.APPROVED}:
            submitted = submitted or completed or now
        notes = (row.get("notes") or "").strip() or None
        instance = self._instance(row)
        made = instance.id is None
        if made:
            report.created += 1
        changes = [
            (HistoryField.STATUS, instance.status, status),
            (HistoryField.ACTUAL_DUE, instance.actual_due, due),
        ]
        if notes is not None:
            changes.append((HistoryField.NOTES, instance.notes, notes))
        old_due = instance.actual_due
        instance.status, instance.actual_due = status, due
        instance.submitted_at, instance.completed_at = submitted, completed
        if notes is not None:
            instance.notes = notes
        self.session.flush()
        if made:
            self.audit.created(
                AuditEntity.INSTANCE,
                instance.id,
                record_of(instance),
                source=ChangeSource.IMPORT,
                why=self.why,
            )
        if old_due != due:
            self._moved[instance.id] = (
                line,
                old_due or due,
                due,
                instance.project_id,
                instance.supplier_project_id,
            )
        recorded = [Change(instance.id, f, old, new) for f, old, new in changes if old != new]
        if recorded:
            self.audit.record(recorded, source=ChangeSource.IMPORT, why=self.why)
            report.changed_fields += len(recorded)
        else:
            report.unchanged += 1

    def _instance(self, row: dict[str, str]) -> TaskInstance:
        project_code, supplier_code = row["projectCode"].strip(), row["supplierCode"].strip()
        project_id = self._id("project", project_code, self.projects.id_by_code)
        supplier_id = self._id("supplier", supplier_code, self.suppliers.id_by_code)
        name = row["templateName"].strip()
        template = self.templates.by_name(project_id, name)
        if template is None:
            raise ImportRowError(f"project {row['projectCode']} has no milestone {name!r}")
        assignment = self.assignments.of(project_id, supplier_id)
        if assignment is None:
            raise ImportRowError(f"supplier {row['supplierCode']} is not on {row['projectCode']}")
        instance = self.tasks.of(assignment.id, template.id, for_update=True)
        if instance is not None:
            return instance
        capability = template.required_capability
        if capability is not None and capability not in self.suppliers.capabilities(supplier_id):
            raise ImportRowError(f"supplier lacks capability {capability!r} for this milestone")
        return self.tasks.new_instance(assignment, template)

    def _id(self, kind: str, key: str, find: Callable[[str], int | None]) -> int:
        cached = self._cache.get((kind, key))
        if cached is None:
            cached = find(key)
            if cached is None:
                raise ImportRowError(f"unknown {kind} {key!r}")
            self._cache[(kind, key)] = cached
        return cached


def _numbered(reader: csv.DictReader[str]) -> Iterator[tuple[int, dict[str, str]]]:
    for row in reader:
        yield reader.line_num, row


def _status(value: str) -> TaskStatus:
    try:
        return TaskStatus(value.strip().upper())
    except ValueError as error:
        raise ImportRowError(f"unknown status {value!r}") from error


def _day(value: str | None, name: str) -> date:
    try:
        day = date.fromisoformat((value or "").strip())
    except ValueError as error:
        raise ImportRowError(f"{name} {value!r} is not a date YYYY-MM-DD") from error
    if not in_day_range(day):
        raise ImportRowError(
            f"{name} {day.isoformat()} lies outside {FIRST_DAY.isoformat()}..{LAST_DAY.isoformat()}"
            " (DATE_OUT_OF_RANGE)"
        )
    return day


def _in_the_way(detail: object, line_of: dict[int, int], code: str) -> str:
    """One violation detail as an import error naming the lines concerned."""
    if not isinstance(detail, dict):
        return f"{code}: {detail}"
    node = detail.get("taskInstanceId")
    where = f"line {line_of[node]}" if node in line_of else f"task instance {node}"
    text = f"{where}: {code}: due {detail.get('actualDue')}"
    prerequisite = detail.get("prerequisiteId")
    if prerequisite is not None:
        other = (
            f"line {line_of[prerequisite]}"
            if prerequisite in line_of
            else f"task instance {prerequisite}"
        )
        text += f" is before its prerequisite's ({other}, due {detail.get('prerequisiteDue')})"
    return text


def _instant(value: str | None, name: str) -> datetime | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise ImportRowError(f"{name} {value!r} is not an ISO 8601 instant") from error
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
