"""The small tables of the demo data, planned in Python from the seed (no database yet)."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from supplytrack.demo import vocabulary as words
from supplytrack.demo.schedule import PlannedMilestone, pick_milestones, schedule
from supplytrack.projects.models import ProjectStatus
from supplytrack.suppliers.models import AssignmentStatus, SupplierStatus


@dataclass(frozen=True, slots=True)
class Scale:
    """How much data: projects, suppliers, templates and assignments per project."""

    name: str
    projects: int
    suppliers: int
    templates: tuple[int, int]
    suppliers_per_project: tuple[int, int]
    chunk_instances: int  # instances per INSERT ... SELECT (and per progress step)


SCALES: dict[str, Scale] = {
    "small": Scale("small", 3, 40, (12, 20), (30, 38), 5_000),
    "large": Scale("large", 20, 2_000, (40, 40), (580, 620), 25_000),
    "xl": Scale("xl", 50, 5_000, (40, 40), (630, 670), 25_000),
}


@dataclass(frozen=True, slots=True)
class Clock:
    """The load's 'today' and 'now'; nothing it writes is later than ``now``.

    ``now`` is the start of ``today`` in APP_TIMEZONE, so the same --today always gives the
    same data, whatever the wall clock says.
    """

    today: date
    now: datetime

    @classmethod
    def for_day(cls, today: date, timezone: str) -> Clock:
        """The clock of ``today`` in ``timezone``."""
        start = datetime.combine(today, time.min, tzinfo=ZoneInfo(timezone))
        return cls(today, start.astimezone(UTC))

    def on(self, day: date, rng: random.Random) -> datetime:
        """A moment in working hours (UTC) of ``day``, but never later than an hour ago."""
        moment = datetime.combine(day, time(7), tzinfo=UTC)
        moment += timedelta(seconds=rng.randrange(11 * 3600))
        return min(moment, self.now - timedelta(hours=1))

    def days_ago(self, days: int, rng: random.Random) -> datetime:
        """A moment in working hours ``days`` days before today."""
        return self.on(self.today - timedelta(days=days), rng)


@dataclass(frozen=True, slots=True)
class ProjectPlan:
    """One launch program."""

    id: int
    code: str
    name: str
    description: str
    status: ProjectStatus
    start: date
    sop: date
    created_at: datetime
    updated_at: datetime
    version: int
    held_at: datetime | None  # ON_HOLD: work on it stopped then

    def row(self) -> dict[str, Any]:
        """The projects row."""
        return {
            "id": self.id, "code": self.code, "name": self.name,
            "description": self.description, "status": self.status, "start_date": self.start,
            "sop_date": self.sop, "version": self.version, "created_at": self.created_at,
            "updated_at": self.updated_at,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class SupplierPlan:
    """One supplier; ``pace`` is how many days late it usually finishes (negative: early)."""

    id: int
    code: str
    name: str
    contact_email: str
    status: SupplierStatus
    capabilities: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    version: int
    pace: int

    def row(self) -> dict[str, Any]:
        """The suppliers row."""
        return {
            "id": self.id, "code": self.code, "name": self.name,
            "contact_email": self.contact_email, "status": self.status,
            "version": self.version, "created_at": self.created_at,
            "updated_at": self.updated_at,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class TemplatePlan:
    """One milestone of one project, with the ids of its prerequisites."""

    id: int
    project_id: int
    planned: PlannedMilestone
    sequence: int
    depends_on: tuple[int, ...]
    created_at: datetime
    noise: int  # see NOISE_MODULUS

    def row(self) -> dict[str, Any]:
        """The task_templates row."""
        milestone = self.planned.milestone
        return {
            "id": self.id, "project_id": self.project_id, "name": milestone.name,
            "description": milestone.description, "canonical_due": self.planned.due,
            "sequence": self.sequence, "required_capability": milestone.capability,
            "version": 1, "created_at": self.created_at, "updated_at": self.created_at,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class AssignmentPlan:
    """A supplier on a project; its instances stand as they were at ``as_of``."""

    id: int
    supplier_id: int
    project_id: int
    status: AssignmentStatus
    assigned_at: datetime
    removed_at: datetime | None
    pace: int
    as_of: datetime
    as_of_day: date
    instances: int  # how many templates apply to it (the fan-out rule)
    noise: int  # see NOISE_MODULUS

    def row(self) -> dict[str, Any]:
        """The supplier_projects row (a removal is its one change)."""
        return {
            "id": self.id, "supplier_id": self.supplier_id, "project_id": self.project_id,
            "status": self.status, "assigned_at": self.assigned_at,
            "removed_at": self.removed_at, "version": 2 if self.removed_at else 1,
            "created_at": self.assigned_at, "updated_at": self.removed_at or self.assigned_at,
        }  # fmt: skip


# Each assignment and each template draws a number in 1..NOISE_MODULUS-1; the SQL multiplies
# the two modulo this prime, which gives every instance a uniform pseudo-random number of its
# own for one multiplication (the product of two 31-bit numbers fits in a BIGINT).
NOISE_MODULUS = 2_147_483_647


def noise(rng: random.Random) -> int:
    """A random factor for the instance numbers of the SQL (see NOISE_MODULUS)."""
    return rng.randrange(1, NOISE_MODULUS)


def day_number(day: date) -> int:
    """Days since 1970-01-01 (how the SQL does date arithmetic on both engines)."""
    return day.toordinal() - date(1970, 1, 1).toordinal()


def epoch(moment: datetime) -> int:
    """Whole seconds since 1970-01-01 UTC."""
    return int(moment.timestamp())


_STATUS_CYCLE = (
    ProjectStatus.ACTIVE,
    ProjectStatus.ACTIVE,
    ProjectStatus.PLANNING,
    ProjectStatus.ACTIVE,
    ProjectStatus.ON_HOLD,
    ProjectStatus.ACTIVE,
    ProjectStatus.ACTIVE,
    ProjectStatus.ACTIVE,
    ProjectStatus.ACTIVE,
    ProjectStatus.ACTIVE,
)


def plan_projects(rng: random.Random, clock: Clock, count: int) -> list[ProjectPlan]:
    """Launch programs, mostly ACTIVE, with windows around today."""
    projects: list[ProjectPlan] = []
    codes: set[str] = set()
    for index in range(count):
        prefix, program = words.PROGRAMS[index % len(words.PROGRAMS)]
        name = program + words.VARIANTS[index // len(words.PROGRAMS) % len(words.VARIANTS)]
        status = _STATUS_CYCLE[index % len(_STATUS_CYCLE)]
        start, sop, held_at = _window(rng, clock, status)
        code = next(
            f"{prefix}-{sop.year}-{letter}"
            for letter in "ABCDEFGHJKLMNPQRSTUVWXYZ"
            if f"{prefix}-{sop.year}-{letter}" not in codes
        )
        codes.add(code)
        created_at = clock.on(min(start, clock.today) - timedelta(rng.randint(45, 120)), rng)
        updated_at, version = created_at, 1
        if status is ProjectStatus.ACTIVE:  # went from PLANNING to ACTIVE when it started
            updated_at, version = max(created_at, clock.on(start, rng)), 2
        elif held_at is not None:
            updated_at, version = held_at, 3
        description = f"Supplier launch program for the {name}; SOP {sop:%B %Y}."
        projects.append(
            ProjectPlan(
                index + 1,
                code,
                name,
                description,
                status,
                start,
                sop,
                created_at,
                updated_at,
                version,
                held_at,
            )
        )
    return projects


def _window(
    rng: random.Random, clock: Clock, status: ProjectStatus
) -> tuple[date, date, datetime | None]:
    today = clock.today
    if status is ProjectStatus.PLANNING:
        start = today + timedelta(rng.randint(-10, 45))
        return start, start + timedelta(rng.randint(480, 800)), None
    if status is ProjectStatus.ON_HOLD:
        start = today - timedelta(rng.randint(150, 400))
        return (
            start,
            start + timedelta(rng.randint(480, 800)),
            clock.days_ago(rng.randint(14, 90), rng),
        )
    # An active program is between its tooling and its run-at-rate: 30 to 80 % through.
    length = rng.randint(480, 900)
    start = today - timedelta(round(length * rng.uniform(0.3, 0.8)))
    return start, start + timedelta(length), None


def plan_suppliers(rng: random.Random, clock: Clock, count: int) -> list[SupplierPlan]:
    """Suppliers with vendor codes, names, a quality contact and their trades."""
    codes = rng.sample(range(100_000, 1_000_000), count)
    names: set[str] = set()
    trades = list(words.CAPABILITIES)
    weights = [words.CAPABILITIES[trade][0] for trade in trades]
    suppliers: list[SupplierPlan] = []
    for index, code in enumerate(codes):
        main = rng.choices(trades, weights)[0]
        extra = rng.choices((0, 1, 2), (50, 35, 15))[0]
        others = [trade for trade in trades if trade != main]
        capabilities = tuple(sorted({main, *rng.sample(others, extra)}))
        name, short_name = _company_name(rng, main, names)
        status = rng.choices(list(SupplierStatus), (92, 5, 3))[0]
        created_at = clock.days_ago(rng.randint(400, 2500), rng)
        updated_at, version = created_at, 1
        if status is not SupplierStatus.ACTIVE:
            updated_at, version = clock.days_ago(rng.randint(5, 150), rng), 2
        slug = re.sub(r"[^a-z0-9]+", "-", short_name.lower()).strip("-")
        email = f"{rng.choice(words.CONTACT_ROLES)}@{slug}.example.com"
        suppliers.append(
            SupplierPlan(
                index + 1,
                f"V{code}",
                name,
                email,
                status,
                capabilities,
                created_at,
                updated_at,
                version,
                _pace(rng),
            )
        )
    return suppliers


def _company_name(rng: random.Random, trade: str, taken: set[str]) -> tuple[str, str]:
    """A new company name, and the same without its legal form (for the e-mail domain)."""
    cores = words.CAPABILITIES[trade][1]
    short = ""
    for attempt in range(40):
        short = f"{rng.choice(words.NAME_PREFIXES)} {rng.choice(cores)}"
        if attempt >= 20:  # a crowded name space: number the plant
            short += f" {len(taken) + 1}"
        name = f"{short} {rng.choice(words.LEGAL_FORMS)}"
        if name not in taken:
            break
    taken.add(name)
    return name, short


def _pace(rng: random.Random) -> int:
    """Most suppliers finish about on time, some slip by weeks, a few by months."""
    tier = rng.choices(("on_time", "slipping", "late"), (45, 35, 20))[0]
    if tier == "on_time":
        return rng.randint(-4, 5)
    return rng.randint(6, 40) if tier == "slipping" else rng.randint(41, 120)


def plan_templates(
    rng: random.Random, scale: Scale, projects: list[ProjectPlan]
) -> list[TemplatePlan]:
    """Each project's milestones: dated, in sequence, with their dependencies."""
    templates: list[TemplatePlan] = []
    for project in projects:
        chosen = pick_milestones(rng, rng.randint(*scale.templates))
        planned = schedule(rng, project.start, project.sop, chosen)
        ids = {item.milestone.key: len(templates) + 1 + n for n, item in enumerate(planned)}
        for n, item in enumerate(planned):
            templates.append(
                TemplatePlan(
                    ids[item.milestone.key],
                    project.id,
                    item,
                    10 * (n + 1),
                    tuple(ids[key] for key in item.depends_on),
                    project.created_at + timedelta(minutes=2 * n + 5),
                    noise(rng),
                )
            )
    return templates
