"""The rules of suppliers and of their assignments that need nothing but those two tables.

A leaf of the domain layer. Capability changes (which waive or fan out instances), assigning
(which fans out milestones) and deleting touch other domains: the flows put those together.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from supplytrack.audit.models import AuditEntity, ChangeSource
from supplytrack.audit.service import AuditService, Why, record_of
from supplytrack.core.db import AnyRow
from supplytrack.core.errors import NotFound
from supplytrack.core.http import check_version
from supplytrack.core.identity import Actor
from supplytrack.core.pagination import Sort
from supplytrack.core.schemas import changes_of
from supplytrack.core.time import utcnow
from supplytrack.suppliers.exceptions import (
    AlreadyAssigned,
    SupplierCodeTaken,
    SupplierNotActive,
)
from supplytrack.suppliers.models import (
    AssignmentStatus,
    Supplier,
    SupplierProject,
    SupplierStatus,
)
from supplytrack.suppliers.repository import AssignmentRepository, SupplierRepository
from supplytrack.suppliers.schemas import SupplierCreate, SupplierUpdate

SupplierView = tuple[Supplier, list[str]]


class SupplierService:
    """Create, read, change and delete suppliers and their capabilities."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor
        self.suppliers = SupplierRepository(session, actor)
        self.audit = AuditService(session, actor)

    def get(self, supplier_id: int, *, for_update: bool = False) -> Supplier:
        """A supplier the actor may see (404 otherwise)."""
        supplier = self.suppliers.get(supplier_id, for_update=for_update)
        if supplier is None:
            raise NotFound("supplier", supplier_id)
        return supplier

    def id_by_code(self, code: str) -> int | None:
        """The id of the visible supplier with this code, if any."""
        return self.suppliers.id_by_code(code)

    def codes_and_names(self, supplier_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """(code, name) of visible suppliers, in one query."""
        return self.suppliers.codes_and_names(supplier_ids)

    def first_with_work(self) -> int | None:
        """The lowest-id ACTIVE supplier with an active assignment (for demo tokens)."""
        return self.suppliers.first_active_assigned()

    def view(self, supplier: Supplier) -> SupplierView:
        """A supplier with its capabilities."""
        return supplier, self.capabilities(supplier.id)

    def capabilities(self, supplier_id: int) -> list[str]:
        """The capabilities of one supplier."""
        return self.suppliers.capabilities_of([supplier_id]).get(supplier_id, [])

    def active_assignments(self, supplier_id: int) -> Sequence[SupplierProject]:
        """The supplier's ACTIVE assignments."""
        return self.suppliers.active_assignments(supplier_id)

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
        rows = self.suppliers.search(
            status=status,
            capability=capability,
            search=search,
            sort=sort,
            cursor=cursor,
            limit=limit,
        )
        capabilities = self.suppliers.capabilities_of(row.id for row in rows)
        return [(row, capabilities.get(row.id, [])) for row in rows]

    def create(self, command: SupplierCreate) -> SupplierView:
        """Create a supplier with its capabilities."""
        if self.suppliers.code_taken(command.code):
            raise SupplierCodeTaken(command.code)
        supplier = self.suppliers.add(Supplier(**command.model_dump(exclude={"capabilities"})))
        self.suppliers.replace_capabilities(supplier.id, command.capabilities)
        self.audit.created(
            AuditEntity.SUPPLIER,
            supplier.id,
            {**record_of(supplier), "capabilities": sorted(command.capabilities)},
        )
        return supplier, list(command.capabilities)

    def check_version(self, supplier: Supplier, expected_version: int | None) -> None:
        """412 when If-Match no longer names the supplier's version."""
        check_version(supplier.version, expected_version, f"supplier {supplier.id}")

    def change(
        self,
        supplier: Supplier,
        command: SupplierUpdate,
        *,
        capabilities: tuple[list[str], list[str]] | None,
        why: Why,
    ) -> list[str]:
        """Write a checked change of one supplier in a single UPDATE (its version moves by one).

        ``capabilities`` is (old, new) when the set changes: it is replaced and audited, and
        counts as a change of the supplier.
        """
        values = changes_of(command)
        for name in ("capabilities", "force", "reason"):
            values.pop(name, None)
        code = values.get("code")
        if isinstance(code, str) and self.suppliers.code_taken(code, except_id=supplier.id):
            raise SupplierCodeTaken(code)
        before = record_of(supplier)
        changed = [name for name, value in values.items() if getattr(supplier, name) != value]
        for name in changed:
            setattr(supplier, name, values[name])
        if capabilities is not None:
            old, new = capabilities
            changed.append("capabilities")
            if len(changed) == 1:
                supplier.updated_at = utcnow()
        if changed:
            self.suppliers.flush()
            self.audit.changed(
                AuditEntity.SUPPLIER, supplier.id, before, record_of(supplier), why=why
            )
        if capabilities is not None:
            self.suppliers.replace_capabilities(supplier.id, new)
            self.audit.log(
                AuditEntity.SUPPLIER,
                supplier.id,
                [("capabilities", ",".join(old), ",".join(new))],
                source=ChangeSource.API,
                why=why,
            )
        return changed

    def delete(self, supplier: Supplier) -> None:
        """Delete a supplier, its assignments and capabilities (its instances are gone)."""
        self.audit.deleted(
            AuditEntity.SUPPLIER,
            supplier.id,
            {**record_of(supplier), "capabilities": self.capabilities(supplier.id)},
        )
        for assignment in self.suppliers.assignments_of(supplier.id):
            self.audit.deleted(AuditEntity.ASSIGNMENT, assignment.id, record_of(assignment))
        self.suppliers.delete(supplier)


class AssignmentService:
    """Assign suppliers to projects and take them off (the assignment rows)."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor
        self.assignments = AssignmentRepository(session, actor)
        self.audit = AuditService(session, actor)

    def page(
        self, project_id: int, *, status: AssignmentStatus | None, after_id: int | None, limit: int
    ) -> Sequence[AnyRow]:
        """A (visible) project's assignments the actor may see (one more than ``limit``)."""
        return self.assignments.of_project(
            project_id, status=status, after_id=after_id, limit=limit
        )

    def get(self, assignment_id: int) -> SupplierProject:
        """A visible assignment by id (404 otherwise)."""
        assignment = self.assignments.get(assignment_id)
        if assignment is None:
            raise NotFound("assignment", assignment_id)
        return assignment

    def row(self, assignment_id: int) -> AnyRow:
        """An assignment with its supplier's code and name."""
        return self.assignments.row(assignment_id)

    def of(self, project_id: int, supplier_id: int) -> SupplierProject | None:
        """The visible assignment of a supplier to a project, if any."""
        return self.assignments.of(project_id, supplier_id)

    def assign(self, project_id: int, supplier: Supplier) -> SupplierProject:
        """Assign (or re-assign) an ACTIVE supplier to an open project; the assignment row."""
        if supplier.status != SupplierStatus.ACTIVE:
            raise SupplierNotActive(supplier.id, supplier.status)
        assignment = self.assignments.of(project_id, supplier.id, for_update=True)
        if assignment is None:
            made = self.assignments.add(
                SupplierProject(project_id=project_id, supplier_id=supplier.id)
            )
            self.audit.created(AuditEntity.ASSIGNMENT, made.id, record_of(made))
            return made
        if assignment.status == AssignmentStatus.ACTIVE:
            raise AlreadyAssigned(supplier.id, project_id)
        before = record_of(assignment)
        assignment.status = AssignmentStatus.ACTIVE
        assignment.assigned_at = utcnow()
        assignment.removed_at = None
        self.assignments.flush()
        self.audit.changed(AuditEntity.ASSIGNMENT, assignment.id, before, record_of(assignment))
        return assignment

    def remove(
        self, project_id: int, supplier_id: int, expected_version: int | None
    ) -> SupplierProject:
        """Take a supplier off a (visible) project: REMOVED, its instances and history kept."""
        assignment = self.assignments.of(project_id, supplier_id, for_update=True)
        if assignment is None:
            raise NotFound("assignment of supplier", supplier_id)
        check_version(assignment.version, expected_version, f"assignment {assignment.id}")
        if assignment.status == AssignmentStatus.ACTIVE:
            before = record_of(assignment)
            assignment.status = AssignmentStatus.REMOVED
            assignment.removed_at = utcnow()
            self.assignments.flush()
            self.audit.changed(AuditEntity.ASSIGNMENT, assignment.id, before, record_of(assignment))
        return assignment

    def next_of_projects(
        self, project_ids: Sequence[int], after_id: int | None, limit: int
    ) -> Sequence[AnyRow]:
        """(id, project_id) of the projects' next assignments after ``after_id``, by id."""
        return self.assignments.next_of_projects(project_ids, after_id, limit)

    def delete_of_project(self, project_id: int) -> None:
        """Delete every assignment of a project being deleted (its instances are gone)."""
        for assignment in self.assignments.all_of_project(project_id):
            self.audit.deleted(AuditEntity.ASSIGNMENT, assignment.id, record_of(assignment))
        self.assignments.delete_of_project(project_id)
