"""The bulk date shift pages: form, preview, apply (inline and as a job), progress, undo."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from supplytrack.audit.models import TaskInstanceHistory
from supplytrack.bulk.models import BulkOperation
from supplytrack.bulk.schemas import DateChange
from supplytrack.core.db import Database
from supplytrack.core.identity import Role, system_actor
from supplytrack.flows import jobs as _job_kinds  # noqa: F401 - registers the bulk job kinds
from supplytrack.flows.base import Flow
from supplytrack.flows.bulk import BulkFlows
from supplytrack.jobs.models import Job, JobState
from supplytrack.jobs.runner import JobRunner
from supplytrack.projects.models import Project
from supplytrack.tasks.models import TaskInstance
from supplytrack.templates.models import TaskTemplate
from tests.fixtures.auth import Caller, make_caller
from tests.fixtures.factories import Factory, days
from tests.web.conftest import csrf_of, sign_in

HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@dataclass
class Plant:
    """A project with milestones A -> B and four suppliers: eight open instances."""

    project: Project
    a: TaskTemplate
    b: TaskTemplate
    supplier_ids: list[int]
    session: Session

    def dues(self) -> dict[int, date]:
        self.session.expire_all()
        rows = self.session.execute(
            select(TaskInstance.id, TaskInstance.actual_due).where(
                TaskInstance.project_id == self.project.id
            )
        ).all()
        return {row.id: row.actual_due for row in rows}

    def history(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(TaskInstanceHistory)) or 0)


@pytest.fixture
def plant(factory: Factory, session: Session) -> Plant:
    project = factory.project(code="BULK-WEB", name="Bulk web program")
    a = factory.template(project, name="Tooling", canonical_due=days(10))
    b = factory.template(project, (a.id,), name="PPAP", canonical_due=days(20))
    suppliers = [factory.supplier(code=f"BW-{n}", name=f"Bulk Works {n}") for n in range(4)]
    for supplier in suppliers:
        factory.assign(project, supplier)
    session.flush()
    return Plant(project, a, b, [s.id for s in suppliers], session)


def _change(plant: Plant, **more: Any) -> dict[str, Any]:
    return {
        "project": str(plant.project.id),
        "how": "days",
        "amount": "3",
        "reasonCode": "PLAN_CHANGE",
        "reason": "customer moved the build",
        **more,
    }


def _preview(client: TestClient, plant: Plant, **more: Any) -> Any:
    page = client.get(f"/bulk?project={plant.project.id}")
    assert page.status_code == 200, page.text
    return client.post("/bulk/preview", data={**_change(plant, **more), "csrf": csrf_of(page.text)})


def _apply_form(preview_html: str) -> dict[str, str]:
    """The hidden fields of the preview's apply form (and the csrf)."""
    start = preview_html.index('action="/bulk/apply"')
    return {name: html.unescape(value) for name, value in HIDDEN.findall(preview_html[start:])}


def _apply(client: TestClient, plant: Plant, **more: Any) -> Any:
    preview = _preview(client, plant)
    assert preview.status_code == 200, preview.text
    return client.post(
        "/bulk/apply", data={**_apply_form(preview.text), **more}, follow_redirects=False
    )


def _operation_id(answer: Any) -> int:
    assert answer.status_code == 303, answer.text
    found = re.fullmatch(r"/bulk/operations/(\d+)\?notice=(\w+)", answer.headers["location"])
    assert found, answer.headers["location"]
    return int(found.group(1))


def test_the_form_offers_the_projects_then_its_suppliers_and_milestones(
    signed_in: Callable[[Caller], TestClient], manager: Caller, plant: Plant
) -> None:
    client = signed_in(manager)
    first = client.get("/bulk")
    assert first.status_code == 200
    assert "BULK-WEB · Bulk web program (ACTIVE)" in first.text
    assert 'action="/bulk/preview"' not in first.text  # a project first
    form = client.get(f"/bulk?project={plant.project.id}")
    assert form.status_code == 200
    for code in ("BW-0", "BW-1", "BW-2", "BW-3"):
        assert f"{code} · Bulk Works" in form.text
    assert f'<option value="{plant.a.id}">Tooling</option>' in form.text
    assert f'<option value="{plant.b.id}">PPAP</option>' in form.text
    assert '<option value="PLAN_CHANGE">PLAN_CHANGE</option>' in form.text
    for label in ('for="bulk-suppliers"', 'for="bulk-milestones"', 'for="bulk-amount"'):
        assert label in form.text
    assert client.get("/bulk?project=999999").status_code == 404


@pytest.mark.parametrize("role", [Role.VIEWER, Role.SUPPLIER])
def test_viewers_and_suppliers_get_the_403_page(
    client: TestClient, session: Session, plant: Plant, role: Role
) -> None:
    caller = make_caller(session, role, plant.supplier_ids[0] if role is Role.SUPPLIER else None)
    sign_in(client, caller)
    for path in ("/bulk", f"/bulk?project={plant.project.id}", "/bulk/operations/1"):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "Not allowed" in answer.text
    before = plant.dues()
    answer = client.post("/bulk/preview", data=_change(plant))
    assert answer.status_code == 403
    assert plant.dues() == before


def test_the_preview_shows_counts_and_moves_and_changes_nothing(
    signed_in: Callable[[Caller], TestClient], manager: Caller, plant: Plant
) -> None:
    client = signed_in(manager)
    before, history = plant.dues(), plant.history()
    preview = _preview(client, plant, supplierIds=[str(i) for i in plant.supplier_ids[:2]])
    assert preview.status_code == 200, preview.text
    text = preview.text
    assert '<div class="big">4</div>due dates would move' in text
    assert '<div class="big">0</div>rules broken' in text
    assert "move by 3 calendar days" in text
    assert "BW-0, BW-1" in text
    rows = re.findall(r'<td><a href="/tasks/(\d+)">', text)
    assert len(rows) == 4
    for instance_id in rows:
        old = before[int(instance_id)]
        assert f"<td>{old.isoformat()}</td>" in text
        assert f"<td>{(old + timedelta(days=3)).isoformat()}</td>" in text
    fields = _apply_form(text)
    assert re.fullmatch(r"[0-9a-f]{32}", fields["previewToken"])
    assert fields["supplierIds"] == ",".join(str(i) for i in plant.supplier_ids[:2])
    assert plant.dues() == before
    assert plant.history() == history


def test_apply_inline_moves_the_dates_and_undo_puts_them_back(
    signed_in: Callable[[Caller], TestClient], manager: Caller, plant: Plant
) -> None:
    client = signed_in(manager)
    before = plant.dues()
    operation_id = _operation_id(_apply(client, plant))
    assert plant.dues() == {i: d + timedelta(days=3) for i, d in before.items()}
    page = client.get(f"/bulk/operations/{operation_id}?notice=applied")
    assert page.status_code == 200
    assert "The date change was applied." in page.text
    assert "8 of 8 task instances" in page.text
    assert "<strong data-progress-state>DONE</strong>" in page.text
    assert "data-progress-url" not in page.text  # nothing left to follow
    assert "move by 3 calendar days" in page.text
    assert "customer moved the build" in page.text
    assert '<td>applied</td><td class="num">8</td>' in page.text
    progress = client.get(f"/bulk/operations/{operation_id}/progress")
    assert progress.json() == {"processed": 8, "total": 8, "state": "DONE"}

    undo = client.post(
        f"/bulk/operations/{operation_id}/undo",
        data={"csrf": csrf_of(page.text), "reason": "wrong project"},
        follow_redirects=False,
    )
    assert undo.status_code == 303
    assert undo.headers["location"] == f"/bulk/operations/{operation_id}?notice=undone"
    assert plant.dues() == before
    after = client.get(undo.headers["location"])
    assert "The operation was undone" in after.text
    assert "<strong data-progress-state>UNDONE</strong>" in after.text
    undo_id = plant.session.scalar(
        select(BulkOperation.id).where(BulkOperation.undo_of_id == operation_id)
    )
    assert f'<a href="/bulk/operations/{undo_id}">operation {undo_id}</a>' in after.text
    assert "<strong data-progress-state>DONE</strong>" in after.text  # the undo's own
    assert 'action="/bulk/operations/' not in after.text.split("Undone by")[1]  # no 2nd undo
    undo_page = client.get(f"/bulk/operations/{undo_id}")
    assert "UNDO" in undo_page.text
    assert "wrong project" in undo_page.text
    assert client.get(f"/bulk/operations/{undo_id}/progress").json() == {
        "processed": 8,
        "total": 8,
        "state": "DONE",
    }


def test_above_the_threshold_the_apply_is_a_job_and_the_page_shows_its_end(
    tuned: Callable[..., TestClient], manager: Caller, plant: Plant
) -> None:
    client = sign_in(tuned(bulk_job_threshold=3, bulk_chunk_size=10, queue_inline=True), manager)
    before = plant.dues()
    answer = _apply(client, plant)
    operation_id = _operation_id(answer)
    assert answer.headers["location"].endswith("notice=queued")
    job_id = plant.session.scalar(
        select(BulkOperation.job_id).where(BulkOperation.id == operation_id)
    )
    assert job_id is not None
    assert plant.dues() == {i: d + timedelta(days=3) for i, d in before.items()}
    page = client.get(f"/bulk/operations/{operation_id}")
    assert f"<dd>{job_id} (bulk-dates, SUCCEEDED)</dd>" in page.text
    assert "8 of 8 task instances" in page.text
    assert client.get(f"/bulk/operations/{operation_id}/progress").json() == {
        "processed": 8,
        "total": 8,
        "state": "DONE",
    }
    # The preview said so before.
    preview = _preview(client, plant)
    assert "More than 3 moves: this runs as a job" in preview.text


def test_the_background_option_is_a_job_whatever_its_size(
    tuned: Callable[..., TestClient], manager: Caller, plant: Plant
) -> None:
    client = sign_in(tuned(bulk_chunk_size=10, queue_inline=True), manager)
    before = plant.dues()
    answer = _apply(client, plant, background="on")
    operation_id = _operation_id(answer)
    operation = plant.session.get(BulkOperation, operation_id)
    assert operation is not None
    assert operation.job_id is not None
    assert operation.params["projectIds"] == [plant.project.id]
    assert plant.dues() == {i: d + timedelta(days=3) for i, d in before.items()}
    page = client.get(f"/bulk/operations/{operation_id}")
    assert "BULK-WEB · Bulk web program" in page.text  # its project, from the params


def test_a_queued_job_is_followed_live_and_its_figures_move(
    signed_in: Callable[[Caller], TestClient],
    manager: Caller,
    plant: Plant,
    session: Session,
    database: Database,
) -> None:
    client = signed_in(manager)
    flow = Flow(session, system_actor("test"), database.settings)
    change = DateChange.model_validate({"shiftDays": 2, "reasonCode": "PLAN_CHANGE"})
    job = BulkFlows(flow).queue_shift([plant.project.id], change)  # no queue: nobody runs it
    operation_id = int(job.payload["bulkOperationId"])
    session.flush()
    page = client.get(f"/bulk/operations/{operation_id}")
    assert page.status_code == 200
    assert f'data-progress-url="/bulk/operations/{operation_id}/progress"' in page.text
    assert "data-reload-when-done" in page.text
    assert '<progress max="8" value="0"' in page.text
    assert "0 of 8 task instances" in page.text
    assert "<strong data-progress-state>QUEUED</strong>" in page.text
    assert "reload it to see how far it got" in page.text
    assert 'action="/bulk/operations/' not in page.text  # no undo while it runs
    progress = client.get(f"/bulk/operations/{operation_id}/progress")
    assert progress.status_code == 200
    assert progress.headers["cache-control"] == "no-store"
    assert progress.json() == {"processed": 0, "total": 8, "state": "QUEUED"}
    job.state, job.processed = JobState.RUNNING, 3  # a worker claimed it and did a chunk
    session.flush()
    assert client.get(f"/bulk/operations/{operation_id}/progress").json() == {
        "processed": 3,
        "total": 8,
        "state": "RUNNING",
    }
    job.state, job.processed = JobState.QUEUED, 0
    session.flush()
    JobRunner(database).run(job.id)
    session.expire_all()
    assert session.get(Job, job.id).state == "SUCCEEDED"  # type: ignore[union-attr]
    assert client.get(f"/bulk/operations/{operation_id}/progress").json() == {
        "processed": 8,
        "total": 8,
        "state": "DONE",
    }
    done = client.get(f"/bulk/operations/{operation_id}")
    assert "data-progress-url" not in done.text
    assert 'action="/bulk/operations/' in done.text  # the undo form


def test_a_stale_preview_is_the_409_page_and_changes_nothing(
    signed_in: Callable[[Caller], TestClient], manager: Caller, plant: Plant
) -> None:
    client = signed_in(manager)
    preview = _preview(client, plant)
    first = min(plant.dues())
    plant.session.execute(
        update(TaskInstance)
        .where(TaskInstance.id == first)
        .values(actual_due=days(11), version=TaskInstance.version + 1)
    )
    plant.session.flush()
    before, history = plant.dues(), plant.history()
    answer = client.post("/bulk/apply", data=_apply_form(preview.text), follow_redirects=False)
    assert answer.status_code == 409
    assert "PREVIEW_STALE" in answer.text
    assert "preview again" in answer.text
    background = client.post("/bulk/apply", data={**_apply_form(preview.text), "background": "on"})
    assert background.status_code == 409
    assert "PREVIEW_STALE" in background.text
    assert plant.dues() == before
    assert plant.history() == history


@pytest.mark.parametrize(
    ("more", "words"),
    [
        ({"amount": "three"}, "amount must be a whole number"),
        ({"amount": "99999"}, "less than or equal to 3650"),
        ({"how": "date", "newDate": "2030-01-01"}, "newDate needs exactly one templateId"),
        ({"how": "sideways"}, "how must be"),
        ({"supplierIds": ["x"]}, "supplierIds must be ids"),
        ({"statuses": ["LOST"]}, "statuses"),
        ({"project": "abc"}, "project must be a project id"),
        ({"reasonCode": "BECAUSE"}, "reasonCode"),
    ],
)
def test_bad_input_is_a_422_page_that_changes_nothing(
    signed_in: Callable[[Caller], TestClient],
    manager: Caller,
    plant: Plant,
    more: dict[str, Any],
    words: str,
) -> None:
    client = signed_in(manager)
    before, history = plant.dues(), plant.history()
    preview = _preview(client, plant, **more)
    assert preview.status_code == 422, preview.text
    assert words in html.unescape(preview.text)
    assert "Please check the form" in preview.text
    good = _preview(client, plant)
    applied = client.post(
        "/bulk/apply", data={**_apply_form(good.text), **more}, follow_redirects=False
    )
    assert applied.status_code == 422
    assert plant.dues() == before
    assert plant.history() == history


def test_a_missing_project_is_the_404_page(
    signed_in: Callable[[Caller], TestClient], manager: Caller, plant: Plant
) -> None:
    client = signed_in(manager)
    answer = _preview(client, plant, project="999999")
    assert answer.status_code == 404
    assert client.get("/bulk/operations/999999").status_code == 404
    assert client.get("/bulk/operations/999999/progress").status_code == 404


def test_a_change_that_breaks_a_rule_shows_them_and_offers_no_apply(
    signed_in: Callable[[Caller], TestClient], manager: Caller, plant: Plant
) -> None:
    client = signed_in(manager)
    preview = _preview(client, plant, amount="-400")
    assert preview.status_code == 200
    assert "Rules it would break" in preview.text
    assert 'action="/bulk/apply"' not in preview.text
    assert "cannot be applied as it is" in preview.text


def test_forms_without_csrf_are_403_and_change_nothing(
    signed_in: Callable[[Caller], TestClient], manager: Caller, plant: Plant
) -> None:
    client = signed_in(manager)
    preview = _preview(client, plant)
    fields = _apply_form(preview.text)
    before, history = plant.dues(), plant.history()
    for csrf in (None, "not-the-secret"):
        data = {k: v for k, v in fields.items() if k != "csrf"}
        if csrf:
            data["csrf"] = csrf
        answer = client.post("/bulk/apply", data=data, follow_redirects=False)
        assert answer.status_code == 403
        assert "CSRF_REJECTED" in answer.text
    assert plant.dues() == before
    assert plant.history() == history
    operation_id = _operation_id(client.post("/bulk/apply", data=fields, follow_redirects=False))
    moved = plant.dues()
    answer = client.post(f"/bulk/operations/{operation_id}/undo", data={"reason": "x"})
    assert answer.status_code == 403
    assert plant.dues() == moved


def test_an_undo_after_a_later_change_is_the_409_page(
    signed_in: Callable[[Caller], TestClient], manager: Caller, plant: Plant
) -> None:
    client = signed_in(manager)
    operation_id = _operation_id(_apply(client, plant))
    again = _operation_id(_apply(client, plant))  # moves the same instances again
    assert again != operation_id
    moved = plant.dues()
    page = client.get(f"/bulk/operations/{operation_id}")
    answer = client.post(
        f"/bulk/operations/{operation_id}/undo", data={"csrf": csrf_of(page.text), "reason": ""}
    )
    assert answer.status_code == 409
    assert "UNDO_CONFLICT" in answer.text
    assert plant.dues() == moved


def test_recent_operations_are_listed_and_exported(
    signed_in: Callable[[Caller], TestClient], manager: Caller, plant: Plant
) -> None:
    client = signed_in(manager)
    operation_id = _operation_id(_apply(client, plant))
    page = client.get("/bulk")
    assert f'<a href="/bulk/operations/{operation_id}">#{operation_id}</a>' in page.text
    assert "8 applied, 0 cascaded" in page.text
    assert 'href="/bulk?format=csv"' in page.text
    assert 'href="/bulk?format=xlsx"' in page.text
    exported = client.get("/bulk?format=csv")
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0]["id"] == str(operation_id)
    assert rows[0]["kind"] == "DATE_SHIFT"
    assert rows[0]["state"] == "APPLIED"
    assert rows[0]["projects"] == "BULK-WEB"
    assert rows[0]["counts"] == "8 applied, 0 cascaded"
    book = openpyxl.load_workbook(io.BytesIO(client.get("/bulk?format=xlsx").content))
    sheet = [list(row) for row in book.active.iter_rows(values_only=True)]
    assert sheet[0][:4] == ["id", "kind", "state", "projects"]
    assert [row[0] for row in sheet[1:]] == [int(row["id"]) for row in rows]


def test_a_status_update_of_the_api_shows_on_its_page(
    signed_in: Callable[[Caller], TestClient], manager: Caller, plant: Plant
) -> None:
    client = signed_in(manager)
    ids = sorted(plant.dues())[:3]
    answer = client.post(
        "/api/task-instances/bulk-status-update",
        json={"ids": ids, "status": "IN_PROGRESS"},
        headers=manager.headers,
    )
    assert answer.status_code == 200, answer.text
    operation_id = answer.json()["bulkOperationId"]
    page = client.get(f"/bulk/operations/{operation_id}")
    assert page.status_code == 200
    assert "<dd>STATUS_UPDATE</dd>" in page.text
    assert "<dt>Status</dt><dd>IN_PROGRESS</dd>" in page.text
    assert "3 of 3 task instances" in page.text
    assert "<dd>—</dd>" in page.text  # by ids: no project
    assert (
        f'<a href="/bulk/operations/{operation_id}">#{operation_id}</a>' in client.get("/bulk").text
    )


def test_change_the_selection_brings_the_form_back_as_it_was(
    signed_in: Callable[[Caller], TestClient], manager: Caller, plant: Plant
) -> None:
    client = signed_in(manager)
    preview = _preview(
        client,
        plant,
        supplierIds=[str(plant.supplier_ids[1])],
        templateIds=[str(plant.b.id)],
        statuses=["NOT_STARTED"],
        how="workingDays",
        amount="-2",
        cascade="on",
        reasonCode="TOOLING_DELAY",
        reason="press <b>down</b>",
    )
    assert preview.status_code == 200, preview.text
    back = preview.text[preview.text.index('<form method="get" action="/bulk"') :]
    fields = dict(HIDDEN.findall(back.split("</form>")[0]))
    assert "previewToken" not in fields
    form = client.get("/bulk", params={k: html.unescape(v) for k, v in fields.items()})
    assert form.status_code == 200
    text = form.text
    supplier = plant.supplier_ids[1]
    assert f'<option value="{supplier}" selected>BW-1 · Bulk Works 1</option>' in text
    assert f'<option value="{plant.a.id}">Tooling</option>' in text
    assert f'<option value="{plant.b.id}" selected>PPAP</option>' in text
    assert 'value="NOT_STARTED" checked>' in text
    assert 'value="IN_PROGRESS">' in text
    assert 'value="workingDays" checked>' in text
    assert 'step="1" value="-2">' in text
    assert 'name="cascade" checked>' in text
    assert '<option value="TOOLING_DELAY" selected>' in text
    assert "press &lt;b&gt;down&lt;/b&gt;</textarea>" in text
