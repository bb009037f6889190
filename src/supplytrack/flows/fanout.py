"""Fanning milestones out to suppliers, and keeping each supplier's dependency order after it.

Shared by assigning a supplier, adding a milestone, adding a capability and creating an
instance by hand: new instances start on their milestone's planned date, which may fall
before a prerequisite the supplier had already moved; the repair moves them after it.
"""

from __future__ import annotations

from collections.abc import Iterable

from supplytrack.audit.models import ChangeSource
from supplytrack.audit.service import Why, new_change_id
from supplytrack.flows.base import Flow, moves_of
from supplytrack.planning.context import PlanningContext
from supplytrack.planning.repository import PlanningRepository
from supplytrack.planning.rules import plan_repair
from supplytrack.suppliers.models import SupplierProject
from supplytrack.tasks.service import TaskService
from supplytrack.templates.models import TaskTemplate

REPAIR_REASON = "kept after a prerequisite the supplier had moved"


class FanOut:
    """Fan-out and the order repair that follows it, for one flow."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.tasks = TaskService(flow.session, flow.actor)
        self.planning = PlanningRepository(flow.session)

    def context(self, project_id: int) -> PlanningContext:
        """The project's planning context."""
        return self.planning.context(project_id, self.flow.today)

    def assignment(self, assignment: SupplierProject) -> int:
        """Create the assignment's missing instances (one INSERT), then repair their order."""
        created = self.tasks.fan_out_assignment(assignment)
        if created:
            self.repair(self.context(assignment.project_id), supplier_project_ids=[assignment.id])
        return created

    def template(self, template: TaskTemplate, context: PlanningContext) -> int:
        """Create the milestone's instances (one INSERT), then repair their order.

        ``context`` is the project's planning context with the milestone in it already.
        """
        created = self.tasks.fan_out_template(template)
        if created:
            self.repair(
                context, template_ids=[template.id, *context.template_graph.get(template.id, [])]
            )
        return created

    def repair(
        self,
        context: PlanningContext,
        *,
        supplier_project_ids: Iterable[int] | None = None,
        template_ids: Iterable[int] | None = None,
    ) -> int:
        """Move instances that start before a prerequisite to just after it (audited)."""
        if not any(context.template_graph.values()):
            return 0
        instances = self.planning.instances(
            context, supplier_project_ids=supplier_project_ids, template_ids=template_ids
        )
        plan = plan_repair(instances)
        why = Why(reason=REPAIR_REASON, change_id=new_change_id())
        return self.tasks.move_dates(
            moves_of(plan, ChangeSource.SYSTEM), source=ChangeSource.SYSTEM, why=why
        )
