"""The rules of task templates: names, dependencies without cycles, fan-out on creation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from supplytrack.audit.models import AuditEntity, ChangeSource
from supplytrack.audit.service import AuditService, Why, new_change_id
from supplytrack.auth.actor import Actor
from supplytrack.calendars.service import CalendarService
from supplytrack.calendars.workdays import WorkCalendar
from supplytrack.core.errors import NotFound
from supplytrack.core.http import check_version
from supplytrack.core.pagination import Sort
from supplytrack.core.repository import assign
from supplytrack.core.time import utcnow
from supplytrack.projects.models import Project
from supplytrack.projects.service import ProjectService
from supplytrack.schedule.exceptions import DependencyOrder, ReasonCodeRequired
from supplytrack.schedule.plan import plan_moves
from supplytrack.tasks.scheduling import Unit, measure, shift_date
from supplytrack.tasks.service import TaskService
from supplytrack.templates.dates import check_future, check_order, check_window
from supplytrack.templates.exceptions import (
    CapabilityLocked,
    DependencyCycle,
    DependencyOutsideProject,
    TemplateHasDependents,
    TemplateHasHistory,
    TemplateNameTaken,
)
from supplytrack.templates.graph import find_cycle, with_edges
from supplytrack.templates.models import TaskTemplate
from supplytrack.templates.repository import TemplateRepository

TemplateView = tuple[TaskTemplate, list[int]]


@dataclass(frozen=True, slots=True)
class _DateMove:
    """The date part of a template update."""

    canonical_due: date | None
    shift: int | None
    unit: Unit
    cascade: bool
    force: bool
    why: Why

    @classmethod
    def pop_from(cls, values: dict[str, Any]) -> _DateMove:
        """Take the date fields out of an update's values."""
        shift_working = values.pop("shift_working_days", None)
        shift_days = values.pop("shift_days", None)
        return cls(
            canonical_due=values.pop("canonical_due", None),
            shift=shift_working if shift_working is not None else shift_days,
            unit=Unit.WORKING_DAYS if shift_working is not None else Unit.DAYS,
            cascade=bool(values.pop("cascade", False)),
            force=bool(values.pop("force", False)),
            why=Why(values.pop("reason", None), values.pop("reason_code", None), new_change_id()),
        )

    def new_date(self, template: TaskTemplate, calendar: WorkCalendar) -> date | None:
        """The requested planned date, if any."""
        if self.canonical_due is not None:
            return self.canonical_due
        if self.shift is not None:
            return shift_date(template.canonical_due, self.shift, self.unit, calendar)
        return None


class TemplateService:
    """Create, read, change and delete the milestones of a project."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor
        self.templates = TemplateRepository(session, actor)

    def graph(self, project_id: int) -> dict[int, list[int]]:
        """The project's dependency graph: template id -> prerequisite ids."""
        return self.templates.project_graph(project_id)

    def of_projects(self, project_ids: Sequence[int]) -> Sequence[TaskTemplate]:
        """The templates of projects the caller already found visible."""
        return self.templates.of_projects(project_ids)

    def outside_window(self, project: Project) -> None:
        """Refuse a project window that would leave some planned date outside it."""
        check_window(project, self.templates.project_dates(project.id))

    def get(self, template_id: int, *, for_update: bool = False) -> TaskTemplate:
        """A visible template (404 otherwise)."""
        template = self.templates.get(template_id, for_update=for_update)
        if template is None:
            raise NotFound("task template", template_id)
        return template

    def view(self, template: TaskTemplate) -> TemplateView:
        """A template with its prerequisites."""
        return template, self.templates.dependencies_of([template.id]).get(template.id, [])

    def page(
        self, project_id: int, *, sort: Sort, cursor: str | None, limit: int
    ) -> list[TemplateView]:
        """A page of the project's templates with their prerequisites (one more than limit)."""
        ProjectService(self.session, self.actor).get(project_id)
        rows = self.templates.page(project_id, sort=sort, cursor=cursor, limit=limit)
        dependencies = self.templates.dependencies_of(row.id for row in rows)
        return [(row, dependencies.get(row.id, [])) for row in rows]

    def create(self, project_id: int, fields: Mapping[str, Any]) -> tuple[TemplateView, int]:
        """Add a milestone and fan it out to every active, capable supplier (one INSERT)."""
        project = ProjectService(self.session, self.actor).require_open(project_id)
        values = dict(fields)
        prerequisites: list[int] = values.pop("depends_on", [])
        if self.templates.name_taken(project_id, values["name"]):
            raise TemplateNameTaken(values["name"])
        self._check_in_project(project_id, prerequisites)
        due: date = values["canonical_due"]
        check_future({0: due})
        check_window(project, {0: due})
        dates = self.templates.project_dates(project_id)
        late = [p for p in prerequisites if dates[p] > due]
        if late:
            raise DependencyOrder(
                "templates",
                [
                    {
                        "canonicalDue": due.isoformat(),
                        "prerequisiteId": p,
                        "prerequisiteDue": dates[p].isoformat(),
                    }
                    for p in late
                ],
            )
        template = self.templates.add(TaskTemplate(project_id=project_id, **values))
        self.templates.replace_dependencies(template, prerequisites)
        created = TaskService(self.session, self.actor).fan_out_template(template)
        return (template, prerequisites), created

    def update(
        self, template_id: int, changes: Mapping[str, Any], expected_version: int | None
    ) -> TemplateView:
        """Change some fields; a given dependsOn replaces the set; a new date moves instances."""
        template = self.get(template_id, for_update=True)
        check_version(template.version, expected_version, f"task template {template_id}")
        values = dict(changes)
        move = _DateMove.pop_from(values)
        prerequisites: list[int] | None = values.pop("depends_on", None)
        name = values.get("name")
        if name is not None and self.templates.name_taken(
            template.project_id, name, except_id=template_id
        ):
            raise TemplateNameTaken(name)
        if (
            "required_capability" in values
            and values["required_capability"] != template.required_capability
            and self.templates.has_instances(template_id)
        ):
            raise CapabilityLocked(template_id)
        changed = assign(template, values)
        current = self.templates.dependencies_of([template_id]).get(template_id, [])
        if prerequisites is not None and prerequisites != current:
            self._check_graph(template, prerequisites)
            self.templates.replace_dependencies(template, prerequisites)
            current = prerequisites
            changed.append("depends_on")
        new_due = move.new_date(template, self._calendar(template.project_id))
        if new_due is not None and new_due != template.canonical_due:
            self._move(template, new_due, move)
            changed.append("canonical_due")
        elif "depends_on" in changed:
            self._check_dependency_order(template)
        if changed:
            # Dates and prerequisites count as changes of the template: bump its version.
            template.updated_at = utcnow()
            self.session.flush()
        return template, current

    def _calendar(self, project_id: int) -> WorkCalendar:
        return CalendarService(self.session, self.actor).calendar(project_id)

    def _move(self, template: TaskTemplate, new_due: date, move: _DateMove) -> None:
        """Move a planned date (and downstream with cascade); instances follow; all audited."""
        if move.why.reason_code is None:
            raise ReasonCodeRequired
        project = ProjectService(self.session, self.actor).get(template.project_id)
        calendar = self._calendar(project.id)
        graph = self.templates.project_graph(project.id)
        dates = self.templates.project_dates(project.id)
        plan = plan_moves(
            graph,
            dates,
            {template.id: new_due},
            cascade=move.cascade,
            delta_of=lambda old, new: measure(old, new, move.unit, calendar),
            shift=lambda old, delta: shift_date(old, delta, move.unit, calendar),
        )
        check_order(plan, dates)
        moved = {node: step.new for node, step in plan.moves.items()}
        check_future(moved)
        check_window(project, moved)
        audit = AuditService(self.session, self.actor)
        for node, step in sorted(plan.moves.items()):
            row = template if node == template.id else self.get(node, for_update=True)
            row.canonical_due = step.new
            if row is not template:
                row.updated_at = utcnow()
            audit.log(
                AuditEntity.TEMPLATE,
                node,
                [("canonicalDue", step.old, step.new)],
                source=ChangeSource.CASCADE if step.cascaded else ChangeSource.API,
                why=move.why,
            )
        self.session.flush()
        TaskService(self.session, self.actor).follow_templates(
            project.id,
            {node: (step.old, step.new) for node, step in plan.moves.items()},
            force=move.force,
            cascade=move.cascade,
            unit=move.unit,
            why=move.why,
        )

    def _check_dependency_order(self, template: TaskTemplate) -> None:
        """After new prerequisites: templates and every supplier's instances stay in order."""
        graph = self.templates.project_graph(template.project_id)
        dates = self.templates.project_dates(template.project_id)
        late = [p for p in graph.get(template.id, []) if dates[p] > dates[template.id]]
        if late:
            raise DependencyOrder(
                "templates", [{"taskTemplateId": template.id, "prerequisiteId": p} for p in late]
            )
        TaskService(self.session, self.actor).check_order(template.project_id, template.id)

    def delete(self, template_id: int, expected_version: int | None) -> None:
        """Delete a milestone no one has worked on and no other milestone depends on."""
        template = self.get(template_id, for_update=True)
        check_version(template.version, expected_version, f"task template {template_id}")
        dependents = self.templates.dependents_of(template_id)
        if dependents:
            raise TemplateHasDependents(template_id, dependents)
        if self.templates.has_history(template_id):
            raise TemplateHasHistory(template_id)
        self.templates.delete(template)

    def _check_in_project(self, project_id: int, prerequisites: Sequence[int]) -> None:
        found = self.templates.ids_in_project(project_id, prerequisites)
        missing = [template_id for template_id in prerequisites if template_id not in found]
        if missing:
            raise DependencyOutsideProject(missing)

    def _check_graph(self, template: TaskTemplate, prerequisites: Sequence[int]) -> None:
        self._check_in_project(template.project_id, [p for p in prerequisites if p != template.id])
        graph = self.templates.project_graph(template.project_id)
        cycle = find_cycle(with_edges(graph, template.id, prerequisites))
        if cycle is not None:
            raise DependencyCycle(cycle)
