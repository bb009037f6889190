"""The rules of suppliers and of their assignments to projects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from supplytrack.audit.models import AuditEntity, ChangeSource
from supplytrack.audit.service import AuditService, Why, new_change_id
from supplytrack.auth.actor import Actor, system_actor
from supplytrack.core.db import AnyRow
from supplytrack.core.errors import NotFound
from supplytrack.core.http import check_version
from supplytrack.core.pagination import Sort
from supplytrack.core.repository import assign
from supplytrack.core.time import utcnow
from supplytrack.projects.service import ProjectService
from supplytrack.suppliers.exceptions import (
    AlreadyAssigned,
    CapabilityInUse,
    ForceNeedsReason,
    SupplierCodeTaken,
    SupplierHasHistory,
    SupplierNotActive,
)
from supplytrack.suppliers.models import (
    AssignmentStatus,
    Supplier,
    SupplierProject,
    SupplierStatus,
)
from supplytrack.suppliers.repository import AssignmentRepository, SupplierRepository

SupplierView = tuple[Supplier, list[str]]


class SupplierService:
    """Create, read, change and delete suppliers and their capabilities."""

    def __init__(self, session: Session, actor: Actor | None = None) -> None:
        self.session = session
        self.actor = actor or system_actor()
        self.suppliers = SupplierRepository(session, self.actor)

    def get(self, supplier_id: int, *, for_update: bool = False) -> Supplier:
        """A supplier the actor may see (404 otherwise)."""
        supplier = self.suppliers.get(supplier_id, for_update=for_update)
        if supplier is None:
            raise NotFound("supplier", supplier_id)
        return supplier

    def require_exists(self, supplier_id: int) -> Supplier:
        """A supplier (used when binding a token to it)."""
        return self.get(supplier_id)

    def codes_and_names(self, supplier_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """(code, name) of visible suppliers, in one query."""
        return self.suppliers.codes_and_names(supplier_ids)

    def first_with_work(self) -> int | None:
        """The lowest-id ACTIVE supplier with an active assignment (for demo tokens)."""
        return self.suppliers.first_active_assigned()

    def view(self, supplier: Supplier) -> SupplierView:
        """A supplier with its capabilities."""
        return supplier, self.suppliers.capabilities_of([supplier.id]).get(supplier.id, [])

    def capabilities(self, supplier_id: int) -> list[str]:
        """The capabilities of one supplier."""
        return self.suppliers.capabilities_of([supplier_id]).get(supplier_id, [])

    def page(
        self,
        *,
        status: SupplierStatus | None,
        capability: str | None,
        search: str | None,
        sort: Sort,
        cursor: str | None,
        limit: int,
    ) -> list[SupplierView]:
        """A page of suppliers with their capabilities (one more than ``limit``)."""
        rows = self.suppliers.page(
            status=status,
            capability=capability,
            search=search,
            sort=sort,
            cursor=cursor,
            limit=limit,
        )
        capabilities = self.suppliers.capabilities_of(row.id for row in rows)
        return [(row, capabilities.get(row.id, [])) for row in rows]

    def create(self, fields: Mapping[str, Any]) -> SupplierView:
        """Create a supplier with its capabilities."""
        values = dict(fields)
        capabilities: list[str] = values.pop("capabilities", [])
        if self.suppliers.code_taken(values["code"]):
            raise SupplierCodeTaken(values["code"])
        supplier = self.suppliers.add(Supplier(**values))
        self.suppliers.replace_capabilities(supplier.id, capabilities)
        return supplier, list(capabilities)

    def update(
        self, supplier_id: int, changes: Mapping[str, Any], expected_version: int | None
    ) -> SupplierView:
        """Change some fields; a given capability set replaces the old one.

        Capabilities added fan out the milestones that need them; capabilities removed while
        open instances need them are refused (409) unless ``force``, which waives those
        instances with the given reason. Both are audited.
        """
        supplier = self.get(supplier_id, for_update=True)
        check_version(supplier.version, expected_version, f"supplier {supplier_id}")
        values = dict(changes)
        new_capabilities: list[str] | None = values.pop("capabilities", None)
        force = bool(values.pop("force", False))
        reason: str | None = values.pop("reason", None)
        code = values.get("code")
        if code is not None and self.suppliers.code_taken(code, except_id=supplier_id):
            raise SupplierCodeTaken(code)
        changed = assign(supplier, values)
        current = self.capabilities(supplier_id)
        if new_capabilities is not None and new_capabilities != current:
            self._change_capabilities(supplier, current, new_capabilities, force, reason)
            current = list(new_capabilities)
            changed.append("capabilities")
        if changed:
            # A capability change is a change of the supplier: bump its version.
            supplier.updated_at = utcnow()
            self.suppliers.flush()
        return supplier, current

    def _change_capabilities(
        self, supplier: Supplier, old: list[str], new: list[str], force: bool, reason: str | None
    ) -> None:
        # Imported here: the tasks service asks this module for assignments.
        from supplytrack.tasks.service import TaskService  # noqa: PLC0415

        tasks = TaskService(self.session, self.actor)
        removed = sorted(set(old) - set(new))
        why = Why(reason=reason, change_id=new_change_id())
        if removed:
            needing = tasks.open_needing(supplier.id, removed)
            if needing and not force:
                raise CapabilityInUse(removed, needing)
            if needing and not (reason and reason.strip()):
                raise ForceNeedsReason
            if needing:
                tasks.waive_needing(supplier.id, removed, why)
        self.suppliers.replace_capabilities(supplier.id, new)
        AuditService(self.session, self.actor).log(
            AuditEntity.SUPPLIER,
            supplier.id,
            [("capabilities", ",".join(old), ",".join(new))],
            source=ChangeSource.API,
            why=why,
        )
        if set(new) - set(old):
            for assignment in self.suppliers.active_assignments(supplier.id):
                tasks.fan_out_assignment(assignment)

    def delete(self, supplier_id: int, expected_version: int | None) -> None:
        """Delete a supplier with no recorded work and no tokens (409 otherwise)."""
        supplier = self.get(supplier_id, for_update=True)
        check_version(supplier.version, expected_version, f"supplier {supplier_id}")
        why = self.suppliers.history_reason(supplier_id)
        if why is not None:
            raise SupplierHasHistory(supplier_id, why)
        self.suppliers.delete(supplier)


class AssignmentService:
    """Assign suppliers to projects (fanning out the milestones) and take them off."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor
        self.assignments = AssignmentRepository(session, actor)

    def page(
        self, project_id: int, *, status: AssignmentStatus | None, after_id: int | None, limit: int
    ) -> Sequence[AnyRow]:
        """The project's assignments the actor may see (404 when the project is not visible)."""
        ProjectService(self.session, self.actor).get(project_id)
        return self.assignments.page(project_id, status=status, after_id=after_id, limit=limit)

    def get(self, assignment_id: int) -> SupplierProject:
        """A visible assignment by id (404 otherwise)."""
        assignment = self.assignments.get_by_id(assignment_id)
        if assignment is None:
            raise NotFound("assignment", assignment_id)
        return assignment

    def row(self, assignment_id: int) -> AnyRow:
        """An assignment with its supplier's code and name."""
        return self.assignments.row(assignment_id)

    def assign(self, project_id: int, supplier_id: int) -> tuple[SupplierProject, int]:
        """Assign (or re-assign) a supplier; fan out every applicable template in one INSERT."""
        # Imported here: the tasks service asks this module for assignments.
        from supplytrack.tasks.service import TaskService  # noqa: PLC0415

        ProjectService(self.session, self.actor).require_open(project_id)
        supplier = SupplierService(self.session, self.actor).get(supplier_id, for_update=True)
        if supplier.status != SupplierStatus.ACTIVE:
            raise SupplierNotActive(supplier_id, supplier.status)
        assignment = self.assignments.get(project_id, supplier_id, for_update=True)
        if assignment is None:
            assignment = self.assignments.add(
                SupplierProject(project_id=project_id, supplier_id=supplier_id)
            )
        elif assignment.status == AssignmentStatus.ACTIVE:
            raise AlreadyAssigned(supplier_id, project_id)
        else:
            assignment.status = AssignmentStatus.ACTIVE
            assignment.assigned_at = utcnow()
            assignment.removed_at = None
            self.assignments.flush()
        created = TaskService(self.session, self.actor).fan_out_assignment(assignment)
        return assignment, created

    def remove(
        self, project_id: int, supplier_id: int, expected_version: int | None
    ) -> SupplierProject:
        """Take a supplier off a project: REMOVED, its instances and history kept."""
        ProjectService(self.session, self.actor).get(project_id)
        assignment = self.assignments.get(project_id, supplier_id, for_update=True)
        if assignment is None:
            raise NotFound("assignment of supplier", supplier_id)
        check_version(assignment.version, expected_version, f"assignment {assignment.id}")
        if assignment.status == AssignmentStatus.ACTIVE:
            assignment.status = AssignmentStatus.REMOVED
            assignment.removed_at = utcnow()
            self.assignments.flush()
        return assignment
