"""Assigning suppliers to projects (fanning out the milestones) and taking them off."""

from __future__ import annotations

from collections.abc import Sequence

from supplytrack.audit.models import AuditEntity, ChangeSource
from supplytrack.audit.service import FANNED_OUT, Why
from supplytrack.core.db import AnyRow
from supplytrack.flows.base import Flow
from supplytrack.flows.fanout import FanOut
from supplytrack.projects.service import ProjectService
from supplytrack.suppliers.models import AssignmentStatus, SupplierProject
from supplytrack.suppliers.service import AssignmentService, SupplierService


class AssignmentFlows:
    """The assignment operations of one actor."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.projects = ProjectService(flow.session, flow.actor)
        self.assignments = AssignmentService(flow.session, flow.actor)

    def page(
        self, project_id: int, *, status: AssignmentStatus | None, after_id: int | None, limit: int
    ) -> Sequence[AnyRow]:
        """A visible project's assignments (404 when the project is not visible)."""
        self.projects.get(project_id)
        return self.assignments.page(project_id, status=status, after_id=after_id, limit=limit)

    def assign(self, project_id: int, supplier_id: int) -> tuple[SupplierProject, int]:
        """Assign (or re-assign) a supplier; every applicable milestone fans out in one INSERT."""
        self.projects.require_open(project_id)
        supplier = SupplierService(self.flow.session, self.flow.actor).get(
            supplier_id, for_update=True
        )
        assignment = self.assignments.assign(project_id, supplier)
        created = FanOut(self.flow).assignment(assignment)
        self.assignments.audit.log(
            AuditEntity.ASSIGNMENT,
            assignment.id,
            [(FANNED_OUT, None, created)],
            source=ChangeSource.API,
            why=Why(),
        )
        return assignment, created

    def remove(
        self, project_id: int, supplier_id: int, expected_version: int | None
    ) -> SupplierProject:
        """Take a supplier off a visible project: REMOVED, its instances and history kept."""
        self.projects.get(project_id)
        return self.assignments.remove(project_id, supplier_id, expected_version)

    def row(self, assignment_id: int) -> AnyRow:
        """An assignment with its supplier's code and name."""
        return self.assignments.row(assignment_id)
