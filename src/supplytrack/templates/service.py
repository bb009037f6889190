"""The rules of task templates (milestones) that need nothing but the templates themselves.

A leaf of the domain layer. Adding a milestone, moving one, changing its prerequisites and
deleting one touch instances and the date engine too: the flows in ``flows/milestones.py``
put those together and call this service for the template rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from sqlalchemy.orm import Session

from supplytrack.audit.models import AuditEntity, ChangeSource
from supplytrack.audit.service import AuditService, Why, record_of
from supplytrack.core.errors import NotFound
from supplytrack.core.http import check_version
from supplytrack.core.identity import Actor
from supplytrack.core.pagination import Sort
from supplytrack.core.time import utcnow
from supplytrack.templates.exceptions import (
    CapabilityLocked,
    DependencyOutsideProject,
    TemplateHasDependents,
    TemplateNameTaken,
)
from supplytrack.templates.models import TaskTemplate
from supplytrack.templates.repository import TemplateRepository

TemplateView = tuple[TaskTemplate, list[int]]


class TemplateService:
    """Read, add, change and delete the milestones of a project."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor
        self.templates = TemplateRepository(session, actor)
        self.audit = AuditService(session, actor)

    def get(self, template_id: int, *, for_update: bool = False) -> TaskTemplate:
        """A visible template (404 otherwise)."""
        template = self.templates.get(template_id, for_update=for_update)
        if template is None:
            raise NotFound("task template", template_id)
        return template

    def check_version(self, template: TaskTemplate, expected_version: int | None) -> None:
        """412 when If-Match no longer names the template's version."""
        check_version(template.version, expected_version, f"task template {template.id}")

    def by_name(self, project_id: int, name: str) -> TaskTemplate | None:
        """The visible milestone of the project with this name, if any."""
        return self.templates.by_name(project_id, name)

    def prerequisites(self, template_id: int) -> list[int]:
        """The ids a template depends on."""
        return self.templates.dependencies_of([template_id]).get(template_id, [])

    def view(self, template: TaskTemplate) -> TemplateView:
        """A template with its prerequisites."""
        return template, self.prerequisites(template.id)

    def page(
        self, project_id: int, *, sort: Sort, cursor: str | None, limit: int
    ) -> list[TemplateView]:
        """A page of a (visible) project's templates with prerequisites, one more than limit."""
        rows = self.templates.of_project(project_id, sort=sort, cursor=cursor, limit=limit)
        dependencies = self.templates.dependencies_of(row.id for row in rows)
        return [(row, dependencies.get(row.id, [])) for row in rows]

    def of_projects(self, project_ids: Sequence[int]) -> Sequence[TaskTemplate]:
        """The templates of projects the caller already found visible."""
        return self.templates.of_projects(project_ids)

    def most_milestones(self, project_ids: Sequence[int]) -> int:
        """The largest number of milestones any of the projects has (at least 1)."""
        return max(self.templates.counts_by_project(project_ids), default=1) or 1

    def check_name(self, project_id: int, name: str, *, except_id: int | None = None) -> None:
        """Milestone names are unique within a project (409)."""
        if self.templates.name_taken(project_id, name, except_id=except_id):
            raise TemplateNameTaken(name)

    def check_in_project(self, project_id: int, prerequisites: Sequence[int]) -> None:
        """Prerequisites are templates of the same project (422)."""
        found = self.templates.ids_in_project(project_id, prerequisites)
        missing = [template_id for template_id in prerequisites if template_id not in found]
        if missing:
            raise DependencyOutsideProject(missing)

    @staticmethod
    def check_capability_change(
        template: TaskTemplate, capability: str | None, *, fanned_out: bool
    ) -> None:
        """The required capability is fixed once the milestone was fanned out (409)."""
        if capability != template.required_capability and fanned_out:
            raise CapabilityLocked(template.id)

    def add(self, template: TaskTemplate, prerequisites: Sequence[int]) -> TaskTemplate:
        """Insert a checked template and its prerequisites."""
        self.templates.add(template)
        self.templates.replace_dependencies(template, prerequisites)
        self.audit.created(
            AuditEntity.TEMPLATE,
            template.id,
            {**record_of(template), "dependsOn": sorted(prerequisites)},
        )
        return template

    def change(
        self,
        template: TaskTemplate,
        values: Mapping[str, object],
        *,
        prerequisites: Sequence[int] | None,
        why: Why | None = None,
    ) -> list[str]:
        """Write checked changes of one template: a single UPDATE, so its version moves by one.

        ``values`` are column values; ``prerequisites``, when given, replace the set. A new
        set of prerequisites alone is a change of the template too. Audited, but for the
        planned date: :meth:`move_dates` records that with the cascade it starts.
        """
        before = record_of(template)
        earlier = self.prerequisites(template.id) if prerequisites is not None else None
        changed = [name for name, value in values.items() if getattr(template, name) != value]
        for name in changed:
            setattr(template, name, values[name])
        if prerequisites is not None:
            self.templates.replace_dependencies(template, prerequisites)
            changed.append("depends_on")
            if len(changed) == 1:
                template.updated_at = utcnow()
        if changed:
            self.session.flush()
            after = record_of(template)
            for fields in (before, after):
                fields.pop("canonicalDue", None)
            if prerequisites is not None:
                before["dependsOn"] = ",".join(str(p) for p in sorted(earlier or []))
                after["dependsOn"] = ",".join(str(p) for p in sorted(prerequisites))
            self.audit.changed(AuditEntity.TEMPLATE, template.id, before, after, why=why)
        return changed

    def move_dates(
        self, template: TaskTemplate, moves: Mapping[int, tuple[date, date, ChangeSource]], why: Why
    ) -> None:
        """Set new planned dates ({id: (old, new, source)}), audited; ``template`` is held.

        The held template gets its date through :meth:`change` (one UPDATE with its other
        fields); the others, moved by the cascade, are updated here.
        """
        for node, (old, new, source) in sorted(moves.items()):
            if node != template.id:
                other = self.get(node, for_update=True)
                other.canonical_due = new
            self.audit.log(
                AuditEntity.TEMPLATE,
                node,
                [("canonicalDue", old, new)],
                source=source,
                why=why,
            )
        self.session.flush()

    def delete(self, template_id: int, expected_version: int | None) -> TaskTemplate:
        """Delete a milestone no other milestone depends on (the caller checked for work)."""
        template = self.get(template_id, for_update=True)
        check_version(template.version, expected_version, f"task template {template_id}")
        dependents = self.templates.dependents_of(template_id)
        if dependents:
            raise TemplateHasDependents(template_id, dependents)
        return template

    def remove(self, template: TaskTemplate) -> None:
        """Delete the template row and its prerequisite links."""
        self.audit.deleted(
            AuditEntity.TEMPLATE,
            template.id,
            {**record_of(template), "dependsOn": sorted(self.prerequisites(template.id))},
        )
        self.templates.delete(template)

    def delete_of_project(self, project_id: int) -> None:
        """Delete every template of a project being deleted (the caller checked for work)."""
        rows = self.templates.of_projects([project_id])
        links = self.templates.dependencies_of(row.id for row in rows)
        for row in rows:
            self.audit.deleted(
                AuditEntity.TEMPLATE,
                row.id,
                {**record_of(row), "dependsOn": sorted(links.get(row.id, []))},
            )
        self.templates.delete_of_project(project_id)
