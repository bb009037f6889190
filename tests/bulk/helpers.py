"""Build many instances fast (set-based, as fan-out does) for job and concurrency tests."""

import subprocess
import sys
from datetime import timedelta

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from supplytrack.suppliers.models import Supplier, SupplierProject
from supplytrack.tasks.models import TaskInstance
from supplytrack.templates.models import TaskTemplate
from tests.fixtures.factories import Factory, days


def many_instances(session: Session, suppliers: int, milestones: int = 2) -> int:
    """A project with a chain of milestones and ``suppliers`` assignments; returns its id."""
    factory = Factory(session)
    project = factory.project()
    previous: tuple[int, ...] = ()
    for index in range(milestones):
        template = factory.template(
            project, previous, name=f"M{index}", canonical_due=days(10 + 10 * index)
        )
        previous = (template.id,)
    session.execute(
        insert(Supplier),
        [
            {"code": f"BULK-{project.id}-{n}", "name": f"Bulk supplier {n}", "status": "ACTIVE"}
            for n in range(suppliers)
        ],
    )
    supplier_ids = session.scalars(
        select(Supplier.id).where(Supplier.code.like(f"BULK-{project.id}-%"))
    ).all()
    session.execute(
        insert(SupplierProject),
        [{"supplier_id": s, "project_id": project.id, "status": "ACTIVE"} for s in supplier_ids],
    )
    session.execute(
        text(
            "INSERT INTO task_instances (supplier_project_id, project_id, supplier_id,"
            " task_template_id, status, actual_due, version, created_at, updated_at)"
            " SELECT sp.id, sp.project_id, sp.supplier_id, t.id, 'NOT_STARTED', t.canonical_due, 1,"
            " sp.created_at, sp.created_at FROM supplier_projects sp JOIN task_templates t"
            " ON t.project_id = sp.project_id WHERE sp.project_id = :p"
        ),
        {"p": project.id},
    )
    return int(project.id)


def planned(session: Session, project_id: int, shift: int) -> dict[int, object]:
    """Each instance's planned date moved by ``shift`` days."""
    rows = session.execute(
        select(TaskInstance.id, TaskTemplate.canonical_due)
        .join(TaskTemplate, TaskTemplate.id == TaskInstance.task_template_id)
        .where(TaskInstance.project_id == project_id)
    ).all()
    return {row.id: row.canonical_due + timedelta(days=shift) for row in rows}


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A real `supplytrack worker` process with ``env`` (its output discarded)."""
    return subprocess.Popen(
        [sys.executable, "-m", "supplytrack", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
