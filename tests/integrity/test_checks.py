"""Each data check holds on sound data and finds the defect planted behind the service's back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from supplytrack.core.settings import Settings
from supplytrack.core.time import utcnow
from supplytrack.flows.checks import context_of
from supplytrack.integrity.checks import BY_NAME, CHECKS, CONSISTENCY, run_check
from supplytrack.suppliers.models import AssignmentStatus
from supplytrack.tasks.models import TaskInstance
from supplytrack.templates.models import TaskTemplate
from tests.fixtures.database import is_postgres
from tests.fixtures.factories import Factory, days


class Plant:
    """Two milestones A -> B, three suppliers, one instance of each per supplier."""

    def __init__(self, factory: Factory, session: Session) -> None:
        self.session = session
        self.project = factory.project()
        self.a = factory.template(self.project, name="A", canonical_due=days(10))
        self.b = factory.template(self.project, (self.a.id,), name="B", canonical_due=days(20))
        self.assignments = [
            factory.assign(self.project, factory.supplier(contact_email=f"q{n}@s.example"))
            for n in range(3)
        ]
        session.flush()

    def instance(self, template: TaskTemplate, assignment: int = 0) -> TaskInstance:
        return self.session.scalars(
            select(TaskInstance).where(
                TaskInstance.task_template_id == template.id,
                TaskInstance.supplier_project_id == self.assignments[assignment].id,
            )
        ).one()

    def without_foreign_keys(self) -> None:
        """Let this transaction break foreign keys, as a hand-made change could."""
        if is_postgres():  # the suite connects as a superuser; the rollback resets it
            self.sql("SET LOCAL session_replication_role = replica")
        else:  # checked at commit, which never comes
            self.sql("PRAGMA defer_foreign_keys = ON")

    def sql(self, statement: str, **values: Any) -> None:
        self.session.execute(text(statement), values)
        self.session.expire_all()


@pytest.fixture
def plant(factory: Factory, session: Session) -> Plant:
    return Plant(factory, session)


def _failing(session: Session, settings: Settings) -> dict[str, int]:
    found = {}
    for check in CHECKS:
        outcome = run_check(session, check, context_of(settings))
        if outcome["failures"]:
            found[check.name] = outcome["failures"]
    return found


def _settings(session: Session) -> Settings:
    settings: Settings = session.info["database"].settings
    return settings


def _history(plant: Plant, instance: int, field: str, old: str, new: str, **extra: Any) -> None:
    plant.sql(
        "INSERT INTO task_instance_history (task_instance_id, field, old_value, new_value,"
        " changed_at, actor, source) VALUES (:i, :f, :o, :n, :at, 'hand', 'API')",
        i=instance,
        f=field,
        o=old,
        n=new,
        at=extra.get("at", utcnow()).strftime("%Y-%m-%d %H:%M:%S.%f"),
    )


def test_every_check_holds_on_data_made_through_the_service(plant: Plant, session: Session) -> None:
    assert _failing(session, _settings(session)) == {}


# Each: a change made behind the service's back, and the checks that must see it.
DEFECTS: dict[str, tuple[Callable[[Plant], None], set[str]]] = {
    "a template due before its prerequisite": (
        lambda p: p.sql(
            "UPDATE task_templates SET canonical_due = :d WHERE id = :id", d=days(5), id=p.b.id
        ),
        {"template_dependency_order"},
    ),
    "an instance due before its prerequisite": (
        lambda p: p.sql(
            "UPDATE task_instances SET actual_due = :d WHERE id = :id",
            d=days(5),
            id=p.instance(p.b).id,
        ),
        {"instance_dependency_order"},
    ),
    "a status no history row set": (
        lambda p: p.sql(
            "UPDATE task_instances SET status = 'IN_PROGRESS' WHERE id = :id", id=p.instance(p.a).id
        ),
        {"status_matches_history"},
    ),
    "a due date its history does not say": (
        lambda p: _history(
            p, p.instance(p.a).id, "ACTUAL_DUE", days(10).isoformat(), days(11).isoformat()
        ),
        {"due_date_matches_history"},
    ),
    "a history row that does not follow the one before": (
        lambda p: (
            _history(p, p.instance(p.a).id, "STATUS", "NOT_STARTED", "IN_PROGRESS"),
            _history(p, p.instance(p.a).id, "STATUS", "SUBMITTED", "IN_PROGRESS"),
            p.sql(
                "UPDATE task_instances SET status = 'IN_PROGRESS' WHERE id = :id",
                id=p.instance(p.a).id,
            ),
        ),
        {"history_is_continuous"},
    ),
    "a change to a removed assignment after its removal": (
        lambda p: (
            p.sql(
                "UPDATE supplier_projects SET status = 'REMOVED', removed_at = :at WHERE id = :id",
                at=(utcnow() - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S.%f"),
                id=p.assignments[1].id,
            ),
            _history(p, p.instance(p.a, 1).id, "NOTES", None, "after the removal"),  # type: ignore[arg-type]
        ),
        {"removed_assignments_unchanged"},
    ),
    "an instance of another supplier than its assignment's (foreign keys off)": (
        lambda p: (
            p.without_foreign_keys(),
            p.sql(
                "UPDATE task_instances SET supplier_id = :s WHERE id = :id",
                s=p.assignments[2].supplier_id,
                id=p.instance(p.a).id,
            ),
        ),
        # SQLite's foreign_key_check sees it too; PostgreSQL's keys were switched off.
        {"instance_links"} | (set() if is_postgres() else {"foreign_keys"}),
    ),
    "a removed assignment without a removal time": (
        lambda p: p.sql(
            "UPDATE supplier_projects SET status = 'REMOVED' WHERE id = :id",
            id=p.assignments[2].id,
        ),
        {"derived_fields"},
    ),
    "an active supplier without a contact address": (
        lambda p: p.sql(
            "UPDATE suppliers SET contact_email = NULL WHERE id = :id",
            id=p.assignments[0].supplier_id,
        ),
        {"suppliers_without_contact_email"},
    ),
    "an active project past its start of production": (
        lambda p: p.sql(
            "UPDATE projects SET start_date = :s, sop_date = :d WHERE id = :id",
            s=days(-90),
            d=days(-1),
            id=p.project.id,
        ),
        {"projects_past_sop_still_active"},
    ),
    "an overdue task nobody touched for weeks": (
        lambda p: p.sql(
            "UPDATE task_instances SET actual_due = :d WHERE task_template_id = :t",
            d=days(-30),
            t=p.a.id,
        ),
        {"overdue_without_activity"},
    ),
}


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_each_check_finds_its_defect_and_no_other_check_does(
    plant: Plant, session: Session, defect: str
) -> None:
    plant_it, expected = DEFECTS[defect]
    plant_it(plant)
    failing = _failing(session, _settings(session))
    assert set(failing) == expected, failing


def test_a_milestone_no_supplier_delivers_is_a_finding(
    plant: Plant, factory: Factory, session: Session
) -> None:
    factory.template(plant.project, name="C", canonical_due=days(40), required_capability="x-ray")
    assert _failing(session, _settings(session)) == {"milestones_without_instances": 1}


@pytest.mark.skipif(is_postgres(), reason="PostgreSQL enforces foreign keys itself")
def test_sqlite_foreign_keys_are_checked(plant: Plant, session: Session) -> None:
    plant.without_foreign_keys()
    _history(plant, 999_999, "NOTES", "", "an orphan")
    found = run_check(session, BY_NAME["foreign_keys"], context_of(_settings(session)))
    assert found["failures"] == 1
    assert found["examples"][0]["table"] == "task_instance_history"
    assert found["examples"][0]["parent"] == "task_instances"


def test_a_result_counts_every_row_and_keeps_ten_examples(plant: Plant, session: Session) -> None:
    many = [f"S-many-{n}" for n in range(14)]
    for code in many:
        plant.sql(
            "INSERT INTO suppliers (code, name, status, created_at, updated_at, version)"
            " VALUES (:c, :c, 'ACTIVE', :at, :at, 1)",
            c=code,
            at=utcnow().strftime("%Y-%m-%d %H:%M:%S.%f"),
        )
    found = run_check(
        session, BY_NAME["suppliers_without_contact_email"], context_of(_settings(session))
    )
    assert found["failures"] == 14
    assert [row["code"] for row in found["examples"]] == many[:10]
    assert found["kind"] != CONSISTENCY


def test_the_assignments_plant_uses_are_active(plant: Plant) -> None:
    assert {a.status for a in plant.assignments} == {AssignmentStatus.ACTIVE}
