"""Changing and deleting suppliers: capabilities that waive or fan out instances, and history.

Removing a capability that open instances still need is refused (409) unless ``force``, which
waives those instances with the given reason; adding one fans out the milestones that need
it on every active assignment. Both are audited with the change of the supplier.
"""

from __future__ import annotations

from supplytrack.audit.models import ChangeSource
from supplytrack.audit.service import Why, new_change_id
from supplytrack.auth.service import TokenService
from supplytrack.flows.base import Flow
from supplytrack.flows.fanout import FanOut
from supplytrack.suppliers.exceptions import CapabilityInUse, ForceNeedsReason, SupplierHasHistory
from supplytrack.suppliers.schemas import SupplierUpdate
from supplytrack.suppliers.service import SupplierService, SupplierView
from supplytrack.tasks.enums import TaskStatus
from supplytrack.tasks.repository import OwnedBy
from supplytrack.tasks.service import TaskService


class SupplierFlows:
    """The supplier operations of one actor that reach beyond the suppliers table."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.suppliers = SupplierService(flow.session, flow.actor)
        self.tasks = TaskService(flow.session, flow.actor)

    def update(
        self, supplier_id: int, command: SupplierUpdate, expected_version: int | None
    ) -> SupplierView:
        """Change some fields; a given capability set replaces the old one (see the module)."""
        supplier = self.suppliers.get(supplier_id, for_update=True)
        self.suppliers.check_version(supplier, expected_version)
        old = self.suppliers.capabilities(supplier_id)
        new = command.capabilities
        capabilities = (old, list(new)) if new is not None and list(new) != old else None
        why = Why(reason=command.reason, change_id=new_change_id())
        needing = []
        if capabilities is not None:
            removed = sorted(set(old) - set(capabilities[1]))
            needing = list(self.tasks.open_needing(supplier_id, removed)) if removed else []
            if needing and not command.force:
                raise CapabilityInUse(removed, [row.id for row in needing])
            if needing and not (command.reason and command.reason.strip()):
                raise ForceNeedsReason
        self.suppliers.change(supplier, command, capabilities=capabilities, why=why)
        if needing:
            waived = self.tasks.evaluate(needing, TaskStatus.WAIVED, command.reason)
            self.tasks.set_statuses(
                [(row.id, row.status, TaskStatus.WAIVED) for row in waived.accepted],
                source=ChangeSource.SYSTEM,
                why=why,
            )
        if capabilities is not None and set(capabilities[1]) - set(old):
            fan_out = FanOut(self.flow)
            for assignment in self.suppliers.active_assignments(supplier_id):
                fan_out.assignment(assignment)
        return supplier, capabilities[1] if capabilities is not None else old

    def delete(self, supplier_id: int, expected_version: int | None) -> None:
        """Delete a supplier with no recorded work and no tokens (409 otherwise)."""
        supplier = self.suppliers.get(supplier_id, for_update=True)
        self.suppliers.check_version(supplier, expected_version)
        if self.tasks.work_recorded(OwnedBy(supplier_id=supplier_id)):
            raise SupplierHasHistory(supplier_id, "has task instances with history")
        if TokenService(self.flow.session).bound_to(supplier_id):
            raise SupplierHasHistory(supplier_id, "has API tokens (kept for the audit trail)")
        self.tasks.delete_untouched(OwnedBy(supplier_id=supplier_id))
        self.suppliers.delete(supplier)
