"""A status or notes PATCH checked outside the write transaction, written only if unchanged.

With a read session the flow checks a copy read there and writes with one UPDATE ... WHERE
version; if someone changed the instance in between, the PATCH is done again the locked way,
so the outcome and the audit trail are those of a PATCH that came second.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from supplytrack.audit.models import TaskInstanceHistory
from supplytrack.core.identity import Actor, Role
from supplytrack.flows.base import Flow
from supplytrack.flows.instances import InstanceFlows
from supplytrack.tasks.exceptions import PrerequisitesOpen
from supplytrack.tasks.models import TaskInstance
from supplytrack.tasks.schemas import TaskInstanceUpdate
from supplytrack.tasks.sets import InstanceSets
from tests.core.helpers import recording
from tests.fixtures.database import TransactionalDatabase
from tests.fixtures.factories import Factory, days

H = TaskInstanceHistory


def _manager() -> Actor:
    return Actor(token_id=None, role=Role.MANAGER, name="test")


@pytest.fixture
def chain(factory: Factory, session: Session) -> tuple[int, int]:
    """(prerequisite, dependent) instances of one supplier."""
    project = factory.project(sop_date=days(90))
    first = factory.template(project, canonical_due=days(10))
    second = factory.template(project, (first.id,), canonical_due=days(20))
    factory.assign(project, factory.supplier())
    ids = {
        row.task_template_id: row.id
        for row in session.execute(select(TaskInstance.id, TaskInstance.task_template_id))
    }
    return ids[first.id], ids[second.id]


def _flows(session: Session, database: TransactionalDatabase) -> InstanceFlows:
    return InstanceFlows(Flow(session, _manager(), database.settings))


def _patch(values: dict[str, Any]) -> TaskInstanceUpdate:
    return TaskInstanceUpdate.model_validate(values)


def _history(session: Session, instance_id: int) -> list[tuple[str, str | None, str | None]]:
    rows = session.execute(
        select(H.field, H.old_value, H.new_value)
        .where(H.task_instance_id == instance_id)
        .order_by(H.id)
    )
    return [(str(f), o, n) for f, o, n in rows]


def test_the_write_is_one_versioned_update(
    session: Session,
    database: TransactionalDatabase,
    chain: tuple[int, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    instance_id = chain[0]
    real = InstanceSets.update_versioned
    written: list[bool] = []

    def spy(self: InstanceSets, *args: Any) -> bool:
        written.append(real(self, *args))
        return written[-1]

    monkeypatch.setattr(InstanceSets, "update_versioned", spy)
    with database.session(write=True) as write, database.session(write=False) as reads:
        with recording(database.engine) as log:
            _flows(write, database).update(
                instance_id,
                _patch({"status": "IN_PROGRESS", "notes": "started"}),
                None,
                reads=reads,
            )
        write.commit()
    assert written == [True]  # the unlocked way, and it held
    writes = [s for s in log.data if not s.lstrip().upper().startswith("SELECT")]
    assert [s.split(" ", 2)[:2] for s in writes] == [
        ["UPDATE", "task_instances"],
        ["INSERT", "INTO"],
    ]
    session.expire_all()
    instance = session.get(TaskInstance, instance_id)
    assert instance is not None
    assert (instance.status, instance.notes, instance.version) == ("IN_PROGRESS", "started", 2)
    assert _history(session, instance_id) == [
        ("STATUS", "NOT_STARTED", "IN_PROGRESS"),
        ("NOTES", None, "started"),
    ]


def test_a_change_in_between_sends_the_patch_the_locked_way(
    session: Session,
    database: TransactionalDatabase,
    chain: tuple[int, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    instance_id = chain[0]
    real = InstanceSets.update_versioned
    raced: list[bool] = []

    def after_a_rival(self: InstanceSets, *args: Any) -> bool:
        # Someone moves the instance on between our read and our write.
        self.session.execute(
            text(
                "UPDATE task_instances SET status = 'IN_PROGRESS', notes = 'rival',"
                " version = version + 1 WHERE id = :id"
            ),
            {"id": instance_id},
        )
        raced.append(True)
        return real(self, *args)

    monkeypatch.setattr(InstanceSets, "update_versioned", after_a_rival)
    with database.session(write=True) as write, database.session(write=False) as reads:
        _flows(write, database).update(
            instance_id,
            _patch({"status": "BLOCKED", "reason": "waiting for steel"}),
            None,
            reads=reads,
        )
        write.commit()
    assert raced == [True]
    session.expire_all()
    instance = session.get(TaskInstance, instance_id)
    assert instance is not None
    # Done again on the rival's result: its notes kept, our move from ITS status, one version on.
    assert (instance.status, instance.notes, instance.version) == ("BLOCKED", "rival", 3)
    assert _history(session, instance_id) == [("STATUS", "IN_PROGRESS", "BLOCKED")]


def test_a_move_that_needs_the_prerequisite_gate_is_checked_locked(
    session: Session, database: TransactionalDatabase, chain: tuple[int, int]
) -> None:
    _first, dependent = chain
    session.execute(
        text(
            "UPDATE task_instances SET status = 'SUBMITTED', submitted_at = '2026-01-01 00:00:00'"
            " WHERE id = :id"
        ),
        {"id": dependent},
    )
    session.flush()
    with (
        database.session(write=True) as write,
        database.session(write=False) as reads,
        pytest.raises(PrerequisitesOpen),
    ):
        _flows(write, database).update(dependent, _patch({"status": "APPROVED"}), None, reads=reads)
    assert _history(session, dependent) == []
