"""A small project for bulk tests: milestones A -> B, six suppliers."""

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from supplytrack.audit.models import TaskInstanceHistory
from supplytrack.projects.models import Project
from supplytrack.tasks.models import TaskInstance
from supplytrack.templates.models import TaskTemplate
from tests.fixtures.factories import Factory, days


@dataclass
class Plant:
    project: Project
    a: TaskTemplate
    b: TaskTemplate
    session: Session

    def ids(self, template: TaskTemplate) -> list[int]:
        return list(
            self.session.scalars(
                select(TaskInstance.id)
                .where(TaskInstance.task_template_id == template.id)
                .order_by(TaskInstance.id)
            )
        )

    def snapshot(self) -> list[tuple[Any, ...]]:
        self.session.expire_all()
        rows = self.session.execute(
            select(
                TaskInstance.id, TaskInstance.status, TaskInstance.actual_due, TaskInstance.version
            ).order_by(TaskInstance.id)
        ).all()
        return [tuple(row) for row in rows]

    def history_count(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(TaskInstanceHistory)) or 0)


@pytest.fixture
def plant(factory: Factory, session: Session) -> Plant:
    project = factory.project()
    a = factory.template(project, name="A", canonical_due=days(10))
    b = factory.template(project, (a.id,), name="B", canonical_due=days(20))
    for _ in range(6):
        factory.assign(project, factory.supplier())
    return Plant(project, a, b, session)
