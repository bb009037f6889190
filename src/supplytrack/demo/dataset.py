"""The whole demo data set as planned in Python: small tables, assignments, load chunks."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from supplytrack.demo.plan import (
    AssignmentPlan,
    Clock,
    ProjectPlan,
    Scale,
    SupplierPlan,
    TemplatePlan,
    noise,
    plan_projects,
    plan_suppliers,
    plan_templates,
)
from supplytrack.suppliers.models import AssignmentStatus, SupplierStatus

REMOVED_SHARE = 0.03  # assignments taken off their project again
MIN_REMOVED_AFTER_DAYS = 30


@dataclass(frozen=True, slots=True)
class Chunk:
    """Consecutive assignments whose instances are inserted by one statement."""

    first_assignment_id: int
    last_assignment_id: int
    first_instance_id: int
    instances: int


@dataclass(frozen=True, slots=True)
class DemoPlan:
    """Everything decided before the database is touched."""

    scale: Scale
    seed: int
    clock: Clock
    projects: list[ProjectPlan]
    suppliers: list[SupplierPlan]
    templates: list[TemplatePlan]
    assignments: list[AssignmentPlan]

    @property
    def instances(self) -> int:
        """How many task instances the fan-out rule gives."""
        return sum(assignment.instances for assignment in self.assignments)

    def chunks(self) -> Iterator[Chunk]:
        """Assignments in id order, cut into runs of about ``scale.chunk_instances``."""
        first: AssignmentPlan | None = None
        next_id, count = 1, 0
        for assignment in self.assignments:
            first = first or assignment
            count += assignment.instances
            if count >= self.scale.chunk_instances:
                yield Chunk(first.id, assignment.id, next_id, count)
                first, next_id, count = None, next_id + count, 0
        if first is not None:
            yield Chunk(first.id, self.assignments[-1].id, next_id, count)


def build_plan(scale: Scale, seed: int, clock: Clock) -> DemoPlan:
    """Plan the small tables; each part has its own random stream, so parts stay stable."""

    def stream(part: str) -> random.Random:
        # Reproducible, not secret: the point is that the same seed gives the same data.
        return random.Random(f"supplytrack-demo:{seed}:{part}")  # noqa: S311  # nosec B311

    projects = plan_projects(stream("projects"), clock, scale.projects)
    suppliers = plan_suppliers(stream("suppliers"), clock, scale.suppliers)
    templates = plan_templates(stream("templates"), scale, projects)
    assignments = plan_assignments(
        stream("assignments"), clock, scale, projects, suppliers, templates
    )
    return DemoPlan(scale, seed, clock, projects, suppliers, templates, assignments)


def plan_assignments(
    rng: random.Random,
    clock: Clock,
    scale: Scale,
    projects: list[ProjectPlan],
    suppliers: list[SupplierPlan],
    templates: list[TemplatePlan],
) -> list[AssignmentPlan]:
    """Active suppliers assigned to each project; a few of them removed again."""
    active = [supplier for supplier in suppliers if supplier.status is SupplierStatus.ACTIVE]
    by_project: dict[int, list[TemplatePlan]] = {project.id: [] for project in projects}
    for template in templates:
        by_project[template.project_id].append(template)
    assignments: list[AssignmentPlan] = []
    for project in projects:
        count = min(len(active), rng.randint(*scale.suppliers_per_project))
        chosen = sorted(rng.sample(active, count), key=lambda supplier: supplier.id)
        for supplier in chosen:
            applicable = sum(
                1
                for template in by_project[project.id]
                if template.planned.milestone.capability in (None, *supplier.capabilities)
            )
            assignments.append(
                _assignment(rng, clock, len(assignments) + 1, project, supplier, applicable)
            )
    return assignments


def _assignment(
    rng: random.Random,
    clock: Clock,
    assignment_id: int,
    project: ProjectPlan,
    supplier: SupplierPlan,
    instances: int,
) -> AssignmentPlan:
    # Suppliers are nominated some weeks before the program starts (or before today).
    assigned_at = max(
        project.created_at + timedelta(days=1),
        supplier.created_at + timedelta(days=1),
        clock.on(min(project.start, clock.today) - timedelta(rng.randint(7, 60)), rng),
    )
    removed_at = None
    room = (clock.now - assigned_at).days - MIN_REMOVED_AFTER_DAYS - 1
    if rng.random() < REMOVED_SHARE and room > 14:
        removed_at = assigned_at + timedelta(days=MIN_REMOVED_AFTER_DAYS + rng.randint(0, room))
    as_of = min(moment for moment in (clock.now, removed_at, project.held_at) if moment is not None)
    return AssignmentPlan(
        id=assignment_id,
        supplier_id=supplier.id,
        project_id=project.id,
        status=AssignmentStatus.REMOVED if removed_at else AssignmentStatus.ACTIVE,
        assigned_at=assigned_at,
        removed_at=removed_at,
        pace=supplier.pace + rng.randint(-3, 3),
        as_of=as_of,
        as_of_day=clock.today if as_of == clock.now else as_of.date(),
        instances=instances,
        noise=noise(rng),
    )
