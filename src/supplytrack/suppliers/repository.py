"""Every query of suppliers, their capabilities and their assignments, scoped to the actor."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import delete, exists, insert, select
from sqlalchemy.orm import Session

from supplytrack.core.db import AnyRow, AnySelect
from supplytrack.core.identity import Actor
from supplytrack.core.pagination import Sort
from supplytrack.core.repository import Repository, contains_pattern
from supplytrack.suppliers.models import (
    AssignmentStatus,
    Supplier,
    SupplierCapability,
    SupplierProject,
    SupplierStatus,
)

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


class SupplierRepository(Repository[Supplier]):
    """Suppliers; a supplier token sees only its own supplier."""

    model = Supplier

    def __init__(self, session: Session, actor: Actor) -> None:
        super().__init__(session, actor)
        self.scope = actor

    def visible(self, stmt: AnySelect) -> AnySelect:
        """Narrow a query of suppliers to the actor's scope."""
        if self.scope.is_supplier:
            stmt = stmt.where(Supplier.id == self.scope.supplier_id)
        return stmt

    def search(
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
        stmt = select(Supplier)
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
        return self.page(stmt, sort, cursor, limit)

    def id_by_code(self, code: str) -> int | None:
        """The id of the visible supplier with this code."""
        return self.session.scalars(
            self.visible(select(Supplier.id).where(Supplier.code == code))
        ).first()

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
        """Whether another supplier has this code, in any case (unscoped: codes are global)."""
        stmt = select(Supplier.id).where(Supplier.code_key == code.strip().lower())
        if except_id is not None:
            stmt = stmt.where(Supplier.id != except_id)
        return self.session.scalars(stmt.limit(1)).first() is not None

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

    def assignments_of(self, supplier_id: int) -> Sequence[SupplierProject]:
        """Every assignment of a supplier, whatever its status (what a delete takes away)."""
        return self.session.scalars(
            select(SupplierProject)
            .where(SupplierProject.supplier_id == supplier_id)
            .order_by(SupplierProject.id)
        ).all()

    def delete(self, supplier: Supplier) -> None:
        """Delete a supplier with its assignments and capabilities (its instances are gone)."""
        for stmt in (
            delete(SupplierProject).where(SupplierProject.supplier_id == supplier.id),
            delete(SupplierCapability).where(SupplierCapability.supplier_id == supplier.id),
        ):
            self.session.execute(stmt, execution_options={"synchronize_session": False})
        self.session.delete(supplier)
        self.session.flush()


class AssignmentRepository(Repository[SupplierProject]):
    """Supplier-project assignments; a supplier token sees only its own."""

    model = SupplierProject

    def __init__(self, session: Session, actor: Actor) -> None:
        super().__init__(session, actor)
        self.scope = actor

    def visible(self, stmt: AnySelect) -> AnySelect:
        """Narrow a query of assignments to the actor's scope."""
        if self.scope.is_supplier:
            stmt = stmt.where(SupplierProject.supplier_id == self.scope.supplier_id)
        return stmt

    def of(
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

    def row(self, assignment_id: int) -> AnyRow:
        """An assignment with its supplier's code and name."""
        stmt = (
            select(*ASSIGNMENT_COLUMNS)
            .join(Supplier, Supplier.id == SupplierProject.supplier_id)
            .where(SupplierProject.id == assignment_id)
        )
        return self.session.execute(stmt).one()

    def of_project(
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

    def next_of_projects(
        self, project_ids: Sequence[int], after_id: int | None, limit: int
    ) -> Sequence[AnyRow]:
        """(id, project_id) of the next assignments of some projects, by id (unscoped)."""
        stmt = (
            select(SupplierProject.id, SupplierProject.project_id)
            .where(SupplierProject.project_id.in_(list(project_ids)))
            .order_by(SupplierProject.id)
            .limit(limit)
        )
        if after_id is not None:
            stmt = stmt.where(SupplierProject.id > after_id)
        return self.session.execute(stmt).all()

    def all_of_project(self, project_id: int) -> Sequence[SupplierProject]:
        """Every assignment of a project, whatever its status (what a delete takes away)."""
        return self.session.scalars(
            select(SupplierProject)
            .where(SupplierProject.project_id == project_id)
            .order_by(SupplierProject.id)
        ).all()

    def delete_of_project(self, project_id: int) -> None:
        """Delete every assignment of a project (its instances are gone already)."""
        self.session.execute(
            delete(SupplierProject).where(SupplierProject.project_id == project_id),
            execution_options={"synchronize_session": False},
        )
