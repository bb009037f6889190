"""The date engine against the database, by property: random graphs, random moves.

After any accepted operation no dependent is due before a prerequisite (for templates, and for
each supplier's instances), and every changed date has exactly one history row; a refused
operation changes nothing at all.
"""

from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from supplytrack.audit.models import AuditLog, TaskInstanceHistory
from supplytrack.core.errors import SupplyTrackError
from supplytrack.flows.instances import InstanceFlows
from supplytrack.flows.milestones import MilestoneFlows
from supplytrack.tasks.models import TaskInstance
from supplytrack.tasks.schemas import TaskInstanceUpdate
from supplytrack.templates.models import TaskTemplate, TaskTemplateDependency
from supplytrack.templates.schemas import TemplateUpdate
from tests.fixtures.factories import Factory, days

operation = st.one_of(
    st.tuples(
        st.just("instance"), st.integers(0, 50), st.integers(-10, 20), st.booleans(), st.booleans()
    ),
    st.tuples(
        st.just("template"), st.integers(0, 50), st.integers(-10, 20), st.booleans(), st.booleans()
    ),
)


@st.composite
def graphs(draw: st.DrawFn) -> list[list[int]]:
    size = draw(st.integers(2, 7))
    return [
        draw(st.lists(st.integers(0, n - 1), unique=True, max_size=3)) if n else []
        for n in range(size)
    ]


def _snapshot(session: Session) -> tuple[Any, ...]:
    session.expire_all()
    instances = session.execute(
        select(TaskInstance.id, TaskInstance.actual_due, TaskInstance.version).order_by(
            TaskInstance.id
        )
    ).all()
    templates = session.execute(
        select(TaskTemplate.id, TaskTemplate.canonical_due).order_by(TaskTemplate.id)
    ).all()
    history = session.execute(select(TaskInstanceHistory.id)).all()
    log = session.execute(select(AuditLog.id)).all()
    return tuple(map(tuple, instances)), tuple(map(tuple, templates)), len(history), len(log)


def _check_order(session: Session) -> None:
    edges = session.execute(
        select(TaskTemplateDependency.template_id, TaskTemplateDependency.depends_on_id)
    ).all()
    canonical = dict(session.execute(select(TaskTemplate.id, TaskTemplate.canonical_due)).all())
    rows = session.execute(
        select(
            TaskInstance.supplier_project_id, TaskInstance.task_template_id, TaskInstance.actual_due
        )
    ).all()
    due = {(sp, t): d for sp, t, d in rows}
    for dependent, prerequisite in edges:
        assert canonical[dependent] >= canonical[prerequisite]
        for (sp, template), day in due.items():
            if template == dependent and (sp, prerequisite) in due:
                assert day >= due[(sp, prerequisite)]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(graph=graphs(), operations=st.lists(operation, min_size=1, max_size=5))
def test_accepted_moves_keep_order_and_audit_each_change_once(
    session: Session, graph: list[list[int]], operations: list[tuple[str, int, int, bool, bool]]
) -> None:
    savepoint = session.begin_nested()
    try:
        factory = Factory(session)
        project = factory.project()
        templates: list[TaskTemplate] = []
        for node, prerequisites in enumerate(graph):
            due = max((templates[p].canonical_due for p in prerequisites), default=days(5))
            templates.append(
                factory.template(
                    project,
                    tuple(templates[p].id for p in prerequisites),
                    canonical_due=due + timedelta(days=node % 3 * 4),
                )
            )
        for _ in range(2):
            factory.assign(project, factory.supplier())
        instance_ids = list(session.scalars(select(TaskInstance.id).order_by(TaskInstance.id)))
        tasks, plans = InstanceFlows(factory.flow), MilestoneFlows(factory.flow)
        for kind, pick, shift, cascade, force in operations:
            before = _snapshot(session)
            last_history = (
                session.scalar(
                    select(TaskInstanceHistory.id).order_by(TaskInstanceHistory.id.desc()).limit(1)
                )
                or 0
            )
            try:
                with session.begin_nested():
                    if kind == "instance":
                        tasks.update(
                            instance_ids[pick % len(instance_ids)],
                            TaskInstanceUpdate.model_validate(
                                {
                                    "shiftDays": shift,
                                    "cascade": cascade,
                                    "reasonCode": "PLAN_CHANGE",
                                    "reason": "test",
                                }
                            ),
                            None,
                        )
                    else:
                        plans.change(
                            templates[pick % len(templates)].id,
                            TemplateUpdate.model_validate(
                                {
                                    "shiftDays": shift,
                                    "cascade": cascade,
                                    "force": force,
                                    "reasonCode": "PLAN_CHANGE",
                                    "reason": "test",
                                }
                            ),
                            None,
                        )
            except SupplyTrackError:
                assert _snapshot(session) == before
                continue
            _check_order(session)
            after = dict(session.execute(select(TaskInstance.id, TaskInstance.actual_due)).all())
            changed = {i for i, d, _version in before[0] if after[i] != d}
            new_rows = session.execute(
                select(TaskInstanceHistory.task_instance_id, TaskInstanceHistory.new_value).where(
                    TaskInstanceHistory.id > last_history, TaskInstanceHistory.field == "ACTUAL_DUE"
                )
            ).all()
            assert sorted(r[0] for r in new_rows) == sorted(changed)
            assert all(after[i] == date.fromisoformat(v) for i, v in new_rows)
    finally:
        savepoint.rollback()
