"""Adding, changing, moving and deleting milestones (task templates), with their instances.

A milestone's planned date moves through the date engine: the template plan (with cascade,
every downstream milestone) is checked whole, then instances still on an old planned date
follow (all of them with ``force``), checked whole too; only then is anything written. The
planning context (window, calendar, graph, dates) is read once per operation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date

from supplytrack.audit.models import AuditEntity, ChangeSource
from supplytrack.audit.service import FANNED_OUT, Why, new_change_id
from supplytrack.core.pagination import Sort
from supplytrack.core.schemas import changes_of
from supplytrack.flows.base import Flow, moves_of
from supplytrack.flows.fanout import FanOut
from supplytrack.planning.context import PlanningContext
from supplytrack.planning.exceptions import DependencyCycle, ReasonCodeRequired
from supplytrack.planning.graph import find_cycle, with_edges
from supplytrack.planning.plan import broken_dependencies
from supplytrack.planning.repository import PlanningRepository
from supplytrack.planning.rules import (
    DatePlan,
    Subject,
    check,
    check_order,
    plan_instances,
    plan_new_template,
    plan_templates,
)
from supplytrack.planning.shifts import Unit, shift_date
from supplytrack.projects.service import ProjectService
from supplytrack.tasks.repository import OwnedBy
from supplytrack.tasks.service import TaskService
from supplytrack.templates.exceptions import TemplateHasHistory
from supplytrack.templates.models import TaskTemplate
from supplytrack.templates.schemas import TemplateCreate, TemplateUpdate
from supplytrack.templates.service import TemplateService, TemplateView

_COLUMNS = ("name", "description", "sequence", "required_capability")


class MilestoneFlows:
    """The milestone operations of one actor."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.projects = ProjectService(flow.session, flow.actor)
        self.templates = TemplateService(flow.session, flow.actor)
        self.tasks = TaskService(flow.session, flow.actor)
        self.planning = PlanningRepository(flow.session)

    def page(
        self, project_id: int, *, sort: Sort, cursor: str | None, limit: int
    ) -> list[TemplateView]:
        """A visible project's milestones with their prerequisites (404: project not visible)."""
        self.projects.get(project_id)
        return self.templates.page(project_id, sort=sort, cursor=cursor, limit=limit)

    def add(self, project_id: int, command: TemplateCreate) -> tuple[TemplateView, int]:
        """Add a milestone and fan it out to every active, capable supplier (one INSERT)."""
        self.projects.require_open(project_id)
        self.templates.check_name(project_id, command.name)
        prerequisites = list(command.depends_on)
        self.templates.check_in_project(project_id, prerequisites)
        context = self.planning.context(project_id, self.flow.today)
        check(plan_new_template(context, command.canonical_due, prerequisites), context)
        template = self.templates.add(
            TaskTemplate(project_id=project_id, **command.model_dump(exclude={"depends_on"})),
            prerequisites,
        )
        grown = dataclasses.replace(
            context,
            template_graph={**context.template_graph, template.id: prerequisites},
            template_dates={**context.template_dates, template.id: template.canonical_due},
        )
        created = FanOut(self.flow).template(template, grown)
        self.templates.audit.log(
            AuditEntity.TEMPLATE,
            template.id,
            [(FANNED_OUT, None, created)],
            source=ChangeSource.API,
            why=Why(),
        )
        return (template, prerequisites), created

    def change(
        self, template_id: int, command: TemplateUpdate, expected_version: int | None
    ) -> TemplateView:
        """Change a milestone: fields, prerequisites (replacing the set), its planned date."""
        template = self.templates.get(template_id, for_update=True)
        self.templates.check_version(template, expected_version)
        given = command.model_fields_set
        values = {name: value for name, value in changes_of(command).items() if name in _COLUMNS}
        if "name" in values and command.name is not None:
            self.templates.check_name(template.project_id, command.name, except_id=template.id)
        if values.get("required_capability", template.required_capability) != (
            template.required_capability
        ):
            self.templates.check_capability_change(
                template,
                command.required_capability,
                fanned_out=self.tasks.any_of_template(template.id),
            )
        context = self.planning.context(template.project_id, self.flow.today)
        current = list(context.template_graph.get(template.id, []))
        prerequisites = (
            list(command.depends_on)
            if "depends_on" in given
            and command.depends_on is not None
            and list(command.depends_on) != current
            else None
        )
        if prerequisites is not None:
            context = self._with_prerequisites(context, template, prerequisites)
        why = Why(command.reason, command.reason_code, new_change_id())
        new_due = self._new_due(template, command, context)
        moved: tuple[DatePlan, DatePlan] | None = None
        if new_due is not None and new_due != template.canonical_due:
            moved = self._plan_move(template, new_due, command, context)
            values["canonical_due"] = new_due
        elif prerequisites is not None:
            self._check_order(template, context)
        self.templates.change(template, values, prerequisites=prerequisites, why=why)
        if moved is not None:
            templates_plan, instances_plan = moved
            self.templates.move_dates(template, moves_of(templates_plan, ChangeSource.API), why)
            self.tasks.move_dates(
                moves_of(instances_plan, ChangeSource.CASCADE), source=ChangeSource.CASCADE, why=why
            )
        return template, prerequisites if prerequisites is not None else current

    def delete(self, template_id: int, expected_version: int | None) -> None:
        """Delete a milestone no supplier has worked on and no milestone depends on."""
        template = self.templates.delete(template_id, expected_version)
        if self.tasks.work_recorded(OwnedBy(template_id=template_id)):
            raise TemplateHasHistory(template_id)
        self.tasks.delete_untouched(OwnedBy(template_id=template_id))
        self.templates.remove(template)

    # ----------------------------------------------------------------------------------

    def _with_prerequisites(
        self, context: PlanningContext, template: TaskTemplate, prerequisites: Sequence[int]
    ) -> PlanningContext:
        """The context with the template's new prerequisites (checked: in project, acyclic)."""
        self.templates.check_in_project(
            template.project_id, [p for p in prerequisites if p != template.id]
        )
        graph = with_edges(context.template_graph, template.id, prerequisites)
        cycle = find_cycle(graph)
        if cycle is not None:
            raise DependencyCycle(cycle)
        return dataclasses.replace(context, template_graph=graph)

    @staticmethod
    def _new_due(
        template: TaskTemplate, command: TemplateUpdate, context: PlanningContext
    ) -> date | None:
        if command.canonical_due is not None:
            return command.canonical_due
        for amount, unit in (
            (command.shift_working_days, Unit.WORKING_DAYS),
            (command.shift_days, Unit.DAYS),
        ):
            if amount is not None:
                return shift_date(template.canonical_due, amount, unit, context.calendar)
        return None

    def _plan_move(
        self,
        template: TaskTemplate,
        new_due: date,
        command: TemplateUpdate,
        context: PlanningContext,
    ) -> tuple[DatePlan, DatePlan]:
        """The milestones' plan and the instances that follow it, both checked whole."""
        if command.reason_code is None:
            raise ReasonCodeRequired
        unit = Unit.WORKING_DAYS if command.shift_working_days is not None else Unit.DAYS
        templates_plan = plan_templates(
            context,
            {template.id: new_due},
            cascade=command.cascade,
            unit=unit,
            reason=command.reason,
        )
        check(templates_plan, context)
        moved = {node: (m.old, m.new) for node, m in templates_plan.plan.moves.items()}
        # The instances still on an old planned date follow it (all of them with force).
        instances = self.planning.instances(context)
        seeds = {
            node: moved[milestone][1]
            for node, milestone in instances.template_of.items()
            if milestone in moved
            and (command.force or instances.dates[node] == moved[milestone][0])
        }
        instances_plan = plan_instances(
            context, instances, seeds, cascade=command.cascade, unit=unit, reason=command.reason
        )
        check(instances_plan, context)
        return templates_plan, instances_plan

    def _check_order(self, template: TaskTemplate, context: PlanningContext) -> None:
        """After new prerequisites: the milestone and every supplier's copy stay in order."""
        prerequisites = context.template_graph[template.id]
        dates = context.template_dates
        check_order(
            DatePlan.edges(
                Subject.TEMPLATES,
                broken_dependencies({template.id: prerequisites}, dates.__getitem__),
                dates,
            )
        )
        instances = self.planning.instances(context, template_ids=[template.id, *prerequisites])
        broken = [
            (prerequisite, dependent)
            for prerequisite, dependent in broken_dependencies(
                instances.graph, instances.dates.__getitem__
            )
            if instances.template_of[dependent] == template.id
        ]
        check_order(DatePlan.edges(Subject.INSTANCES, broken, instances.dates))
