"""Import historic task instances from CSV: the one way past dates get in, audited as IMPORT.

Columns (header row required): projectCode, supplierCode, templateName, status, actualDue,
and optionally submittedAt, completedAt (ISO 8601 instants), notes. Each row names an existing
assignment and milestone; a missing instance is created when the supplier has the capability.
The whole file is one transaction: any bad row refuses the file and writes nothing; a dry run
checks and counts everything and always rolls back.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from supplytrack.audit.models import ChangeSource, HistoryField
from supplytrack.audit.service import AuditService, Change, Why, new_change_id
from supplytrack.auth.actor import Actor
from supplytrack.core.time import utcnow
from supplytrack.projects.models import Project
from supplytrack.suppliers.models import Supplier, SupplierCapability, SupplierProject
from supplytrack.tasks.enums import DONE_STATUSES, TaskStatus
from supplytrack.tasks.models import TaskInstance
from supplytrack.templates.models import TaskTemplate

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

    def __init__(self, session: Session, actor: Actor, source_name: str) -> None:
        self.session = session
        self.audit = AuditService(session, actor)
        self.why = Why(reason=f"imported from {source_name}", change_id=new_change_id())
        self._cache: dict[tuple[str, Any], Any] = {}

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
                self._apply(row, report)
            except ImportRowError as error:
                report.errors.append(f"line {line_number}: {error}")
                if len(report.errors) >= MAX_ERRORS:
                    report.errors.append("too many errors; stopped")
                    break
        return report

    def _apply(self, row: dict[str, str], report: ImportReport) -> None:
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
        if instance.id is None:
            report.created += 1
        changes = [
            (HistoryField.STATUS, instance.status, status),
            (HistoryField.ACTUAL_DUE, instance.actual_due, due),
        ]
        if notes is not None:
            changes.append((HistoryField.NOTES, instance.notes, notes))
        instance.status, instance.actual_due = status, due
        instance.submitted_at, instance.completed_at = submitted, completed
        if notes is not None:
            instance.notes = notes
        self.session.flush()
        recorded = [Change(instance.id, f, old, new) for f, old, new in changes if old != new]
        if recorded:
            self.audit.record(recorded, source=ChangeSource.IMPORT, why=self.why)
            report.changed_fields += len(recorded)
        else:
            report.unchanged += 1

    def _instance(self, row: dict[str, str]) -> TaskInstance:
        project_code, supplier_code = row["projectCode"].strip(), row["supplierCode"].strip()
        project_id = self._id(
            "project", project_code, select(Project.id).where(Project.code == project_code)
        )
        supplier_id = self._id(
            "supplier", supplier_code, select(Supplier.id).where(Supplier.code == supplier_code)
        )
        name = row["templateName"].strip()
        template = self.session.scalars(
            select(TaskTemplate).where(
                TaskTemplate.project_id == project_id, TaskTemplate.name == name
            )
        ).first()
        if template is None:
            raise ImportRowError(f"project {row['projectCode']} has no milestone {name!r}")
        assignment = self.session.scalars(
            select(SupplierProject).where(
                SupplierProject.project_id == project_id, SupplierProject.supplier_id == supplier_id
            )
        ).first()
        if assignment is None:
            raise ImportRowError(f"supplier {row['supplierCode']} is not on {row['projectCode']}")
        instance = self.session.scalars(
            select(TaskInstance)
            .where(
                TaskInstance.supplier_project_id == assignment.id,
                TaskInstance.task_template_id == template.id,
            )
            .with_for_update()
        ).first()
        if instance is not None:
            return instance
        self._require_capability(supplier_id, template)
        instance = TaskInstance(
            supplier_project_id=assignment.id,
            project_id=project_id,
            supplier_id=supplier_id,
            task_template_id=template.id,
            actual_due=template.canonical_due,
            status=TaskStatus.NOT_STARTED,
        )
        self.session.add(instance)
        return instance

    def _require_capability(self, supplier_id: int, template: TaskTemplate) -> None:
        capability = template.required_capability
        if capability is None:
            return
        has = self.session.scalars(
            select(SupplierCapability.capability).where(
                SupplierCapability.supplier_id == supplier_id,
                SupplierCapability.capability == capability,
            )
        ).first()
        if has is None:
            raise ImportRowError(f"supplier lacks capability {capability!r} for this milestone")

    def _id(self, kind: str, key: str, stmt: Any) -> int:
        cached = self._cache.get((kind, key))
        if cached is None:
            cached = self.session.scalars(stmt).first()
            if cached is None:
                raise ImportRowError(f"unknown {kind} {key!r}")
            self._cache[(kind, key)] = cached
        return int(cached)


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
        return date.fromisoformat((value or "").strip())
    except ValueError as error:
        raise ImportRowError(f"{name} {value!r} is not a date YYYY-MM-DD") from error


def _instant(value: str | None, name: str) -> datetime | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise ImportRowError(f"{name} {value!r} is not an ISO 8601 instant") from error
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
