"""Every query of suppliers, their capabilities and their assignments, scoped to the actor."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import delete, exists, insert, select

from supplytrack.audit.models import TaskInstanceHistory
from supplytrack.auth.models import ApiToken
from supplytrack.core.db import AnyRow, AnySelect
from supplytrack.core.pagination import Sort, apply_keyset
from supplytrack.core.repository import Repository, contains_pattern
from supplytrack.suppliers.models import (
    AssignmentStatus,
    Supplier,
    SupplierCapability,
    SupplierProject,
    SupplierStatus,
)
from supplytrack.tasks.enums import TaskStatus
from supplytrack.tasks.models import TaskInstance

SORTABLE = {
    "id": Supplier.id,
    "code": Supplier.code,
    "name": Supplier.name,
    "createdAt": Supplier.created_at,
    "updatedAt": Supplier.updated_at,
}
ASSIGNMENT_COLUMNS = (
    SupplierProject.id,
    SupplierProject.supplier_id,
    SupplierProject.project_id,
    Supplier.code.label("supplier_code"),
    Supplier.name.label("supplier_name"),
    SupplierProject.status,
    SupplierProject.assigned_at,
    SupplierProject.removed_at,
    SupplierProject.version,
)


class SupplierRepository(Repository):
    """Suppliers; a supplier token sees only its own supplier."""

    def visible(self, stmt: AnySelect) -> AnySelect:
        """Narrow a query of suppliers to the actor's scope."""
        if self.actor.is_supplier:
            stmt = stmt.where(Supplier.id == self.actor.supplier_id)
        return stmt

    def get(self, supplier_id: int, *, for_update: bool = False) -> Supplier | None:
        """One visible supplier."""
        stmt = self.visible(select(Supplier).where(Supplier.id == supplier_id))
        if for_update:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def page(
        self,
        *,
        status: SupplierStatus | None,
        capability: str | None,
        search: str | None,
        sort: Sort,
        cursor: str | None,
        limit: int,
    ) -> Sequence[Supplier]:
        """A page of visible suppliers (one more than ``limit``)."""
        stmt = self.visible(select(Supplier))
        if status is not None:
            stmt = stmt.where(Supplier.status == status)
        if capability is not None:
            stmt = stmt.where(
                exists().where(
                    SupplierCapability.supplier_id == Supplier.id,
                    SupplierCapability.capability == capability,
                )
            )
        if search:
            pattern = contains_pattern(search)
            stmt = stmt.where(
                Supplier.code.ilike(pattern, escape="\\")
                | Supplier.name.ilike(pattern, escape="\\")
            )
        return self.session.scalars(apply_keyset(stmt, sort, cursor, limit)).all()

    def codes_and_names(self, supplier_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """(code, name) of several visible suppliers."""
        if not supplier_ids:
            return {}
        stmt = self.visible(select(Supplier.id, Supplier.code, Supplier.name)).where(
            Supplier.id.in_(list(supplier_ids))
        )
        return {row.id: (row.code, row.name) for row in self.session.execute(stmt)}

    def first_active_assigned(self) -> int | None:
        """The lowest-id ACTIVE supplier that has an ACTIVE assignment."""
        stmt = (
            select(Supplier.id)
            .where(
                Supplier.status == SupplierStatus.ACTIVE,
                exists().where(
                    SupplierProject.supplier_id == Supplier.id,
                    SupplierProject.status == AssignmentStatus.ACTIVE,
                ),
            )
            .order_by(Supplier.id)
            .limit(1)
        )
        return self.session.scalars(stmt).first()

    def code_taken(self, code: str, *, except_id: int | None = None) -> bool:
        """Whether another supplier has this code (unscoped: codes are globally unique)."""
        stmt = select(Supplier.id).where(Supplier.code == code)
        if except_id is not None:
            stmt = stmt.where(Supplier.id != except_id)
        return self.session.scalars(stmt.limit(1)).first() is not None

    def add(self, supplier: Supplier) -> Supplier:
        """Insert a supplier."""
        self.session.add(supplier)
        self.session.flush()
        return supplier

    def capabilities_of(self, supplier_ids: Iterable[int]) -> dict[int, list[str]]:
        """Capabilities of several suppliers in one query."""
        ids = list(supplier_ids)
        found: dict[int, list[str]] = defaultdict(list)
        if not ids:
            return found
        rows = self.session.execute(
            select(SupplierCapability.supplier_id, SupplierCapability.capability)
            .where(SupplierCapability.supplier_id.in_(ids))
            .order_by(SupplierCapability.supplier_id, SupplierCapability.capability)
        )
        for supplier_id, capability in rows:
            found[supplier_id].append(capability)
        return found

    def active_assignments(self, supplier_id: int) -> Sequence[SupplierProject]:
        """The supplier's ACTIVE assignments."""
        stmt = select(SupplierProject).where(
            SupplierProject.supplier_id == supplier_id,
            SupplierProject.status == AssignmentStatus.ACTIVE,
        )
        return self.session.scalars(stmt.order_by(SupplierProject.id)).all()

    def replace_capabilities(self, supplier_id: int, capabilities: Sequence[str]) -> None:
        """Make the supplier's capability set exactly ``capabilities``."""
        self.session.execute(
            delete(SupplierCapability).where(SupplierCapability.supplier_id == supplier_id)
        )
        if capabilities:
            self.session.execute(
                insert(SupplierCapability),
                [{"supplier_id": supplier_id, "capability": name} for name in capabilities],
            )

    def history_reason(self, supplier_id: int) -> str | None:
        """Why the supplier cannot be hard-deleted, or None when it can."""
        started = exists().where(
            TaskInstance.supplier_id == supplier_id, TaskInstance.status != TaskStatus.NOT_STARTED
        )
        audited = exists().where(
            TaskInstanceHistory.task_instance_id == TaskInstance.id,
            TaskInstance.supplier_id == supplier_id,
        )
        tokens = exists().where(ApiToken.supplier_id == supplier_id)
        row = self.session.execute(select(started | audited, tokens)).one()
        if row[0]:
            return "has task instances with history"
        if row[1]:
            return "has API tokens (kept for the audit trail)"
        return None

    def delete(self, supplier: Supplier) -> None:
        """Delete a supplier without history, with its assignments and untouched instances."""
        for stmt in (
            delete(TaskInstance).where(TaskInstance.supplier_id == supplier.id),
            delete(SupplierProject).where(SupplierProject.supplier_id == supplier.id),
            delete(SupplierCapability).where(SupplierCapability.supplier_id == supplier.id),
        ):
            self.session.execute(stmt, execution_options={"synchronize_session": False})
        self.session.delete(supplier)
        self.session.flush()


class AssignmentRepository(Repository):
    """Supplier-project assignments; a supplier token sees only its own."""

    def visible(self, stmt: AnySelect) -> AnySelect:
        """Narrow a query of assignments to the actor's scope."""
        if self.actor.is_supplier:
            stmt = stmt.where(SupplierProject.supplier_id == self.actor.supplier_id)
        return stmt

    def get(
        self, project_id: int, supplier_id: int, *, for_update: bool = False
    ) -> SupplierProject | None:
        """The assignment of a supplier to a project, if visible."""
        stmt = self.visible(
            select(SupplierProject).where(
                SupplierProject.project_id == project_id,
                SupplierProject.supplier_id == supplier_id,
            )
        )
        if for_update:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def get_by_id(self, assignment_id: int) -> SupplierProject | None:
        """An assignment by its own id, if visible."""
        stmt = self.visible(select(SupplierProject).where(SupplierProject.id == assignment_id))
        return self.session.scalars(stmt).first()

    def row(self, assignment_id: int) -> AnyRow:
        """An assignment with its supplier's code and name."""
        stmt = (
            select(*ASSIGNMENT_COLUMNS)
            .join(Supplier, Supplier.id == SupplierProject.supplier_id)
            .where(SupplierProject.id == assignment_id)
        )
        return self.session.execute(stmt).one()

    def page(
        self,
        project_id: int,
        *,
        status: AssignmentStatus | None,
        after_id: int | None,
        limit: int,
    ) -> Sequence[AnyRow]:
        """A page of the project's visible assignments, in id order (one more than ``limit``)."""
        stmt = self.visible(
            select(*ASSIGNMENT_COLUMNS)
            .join(Supplier, Supplier.id == SupplierProject.supplier_id)
            .where(SupplierProject.project_id == project_id)
        )
        if status is not None:
            stmt = stmt.where(SupplierProject.status == status)
        if after_id is not None:
            stmt = stmt.where(SupplierProject.id > after_id)
        return self.session.execute(stmt.order_by(SupplierProject.id).limit(limit + 1)).all()

    def add(self, assignment: SupplierProject) -> SupplierProject:
        """Insert an assignment."""
        self.session.add(assignment)
        self.session.flush()
        return assignment
