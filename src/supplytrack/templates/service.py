"""The rules of task templates: names, dependencies without cycles, fan-out on creation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from supplytrack.auth.actor import Actor
from supplytrack.core.errors import NotFound
from supplytrack.core.http import check_version
from supplytrack.core.pagination import Sort
from supplytrack.core.repository import assign
from supplytrack.core.time import utcnow
from supplytrack.projects.service import ProjectService
from supplytrack.tasks.service import TaskService
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


class TemplateService:
    """Create, read, change and delete the milestones of a project."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor
        self.templates = TemplateRepository(session, actor)

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
        ProjectService(self.session, self.actor).require_open(project_id)
        values = dict(fields)
        prerequisites: list[int] = values.pop("depends_on", [])
        if self.templates.name_taken(project_id, values["name"]):
            raise TemplateNameTaken(values["name"])
        self._check_in_project(project_id, prerequisites)
        template = self.templates.add(TaskTemplate(project_id=project_id, **values))
        self.templates.replace_dependencies(template, prerequisites)
        created = TaskService(self.session, self.actor).fan_out_template(template)
        return (template, prerequisites), created

    def update(
        self, template_id: int, changes: Mapping[str, Any], expected_version: int | None
    ) -> TemplateView:
        """Change some fields; a given dependsOn replaces the set (no cycles)."""
        template = self.get(template_id, for_update=True)
        check_version(template.version, expected_version, f"task template {template_id}")
        values = dict(changes)
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
            if not changed:
                # New prerequisites are a change of the template: bump its version.
                template.updated_at = utcnow()
                changed = ["depends_on"]
        if changed:
            self.session.flush()
        return template, current

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
