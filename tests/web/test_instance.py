"""One task instance at /tasks/{id}: details, history, the actor's moves, and every form."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from supplytrack.audit.models import ChangeSource, HistoryField
from supplytrack.core.identity import Actor, Role
from supplytrack.core.time import today
from supplytrack.flows.base import Flow
from supplytrack.flows.instances import InstanceFlows
from supplytrack.tasks.schemas import TaskInstanceUpdate
from tests.fixtures.auth import Caller
from tests.fixtures.factories import days
from tests.web.conftest import csrf_of
from tests.web.tasks_data import Plan, build, buttons, history, instance, snapshot, words

SignedIn = Callable[[Caller], TestClient]


@pytest.fixture
def plan(session: Session) -> Plan:
    return build(session)


def post(
    client: TestClient, instance_id: int, what: str, csrf: str | None = "page", **fields: str
) -> object:
    """Post one of the instance's forms as the browser would (csrf from the page)."""
    data = dict(fields)
    if csrf == "page":
        data["csrf"] = csrf_of(client.get(f"/tasks/{instance_id}").text)
    elif csrf is not None:
        data["csrf"] = csrf
    return client.post(f"/tasks/{instance_id}/{what}", data=data, follow_redirects=False)


def test_the_page_shows_details_and_history_newest_first(
    signed_in: SignedIn, manager: Caller, plan: Plan, session: Session
) -> None:
    client = signed_in(manager)
    a1 = plan.ids["a1"]
    assert post(client, a1, "status", version="1", status="IN_PROGRESS").status_code == 303
    assert post(client, a1, "notes", version="2", notes="samples <b>shipped</b>").status_code == 303
    page = client.get(f"/tasks/{a1}")
    assert page.status_code == 200
    text = words(page.text)
    for fact in (
        "Project TP-1 Tasks &lt;program&gt;",
        "Supplier SUP-A Alpha Castings",
        "Milestone PPAP &lt;first&gt;",
        "Status In progress",
        f"Planned due {days(30).isoformat()}",
        f"Actual due {days(30).isoformat()}",
        "Overdue / at risk None",
        "Notes samples &lt;b&gt;shipped&lt;/b&gt;",
        "Version 3",
    ):
        assert fact in text, fact
    timeline = page.text.split('<ol class="timeline history">', 1)[1].split("</ol>", 1)[0]
    entries = timeline.split("<li>")[1:]
    assert len(entries) == 2
    assert "Notes" in entries[0]
    assert "samples &lt;b&gt;shipped&lt;/b&gt;" in entries[0]
    assert "manager:test-manager" in entries[0]
    assert "Api" in entries[0]
    assert "Status</strong>: NOT_STARTED → IN_PROGRESS" in entries[1]


def test_the_offered_moves_are_the_machines_for_this_actor(
    signed_in: SignedIn, manager: Caller, viewer: Caller, plan: Plan
) -> None:
    a1 = plan.ids["a1"]
    action = f"/tasks/{a1}/status"
    as_manager = signed_in(manager).get(f"/tasks/{a1}").text
    assert buttons(as_manager, action) == ["IN_PROGRESS", "BLOCKED", "WAIVED"]
    assert f'action="/tasks/{a1}/due/preview#preview"' in as_manager
    as_supplier = signed_in(plan.supplier_a).get(f"/tasks/{a1}").text
    assert buttons(as_supplier, action) == ["IN_PROGRESS", "BLOCKED"]
    assert "/due/preview" not in as_supplier  # due dates are the manufacturer's
    assert f'action="/tasks/{a1}/notes"' in as_supplier
    as_viewer = signed_in(viewer).get(f"/tasks/{a1}").text
    assert buttons(as_viewer, action) == []
    assert f'action="/tasks/{a1}/notes"' not in as_viewer
    assert "can read this instance but not change it" in as_viewer


def test_the_prerequisite_gate_holds_back_submitting(signed_in: SignedIn, plan: Plan) -> None:
    client = signed_in(plan.supplier_a)
    a1, a2 = plan.ids["a1"], plan.ids["a2"]
    assert post(client, a2, "status", version="1", status="IN_PROGRESS").status_code == 303
    page = client.get(f"/tasks/{a2}").text
    assert buttons(page, f"/tasks/{a2}/status") == ["BLOCKED"]
    assert f'Submitted: waiting for prerequisite <a href="/tasks/{a1}">task {a1}</a>' in page
    # Asking anyway is the API's answer: 422, prerequisites open, nothing written.
    refused = post(client, a2, "status", version="2", status="SUBMITTED")
    assert refused.status_code == 422
    assert "PREREQUISITES_OPEN" in refused.text


def test_a_status_move_writes_one_history_row_with_the_actor_and_bumps_the_version(
    signed_in: SignedIn, plan: Plan, session: Session
) -> None:
    client = signed_in(plan.supplier_a)
    a1 = plan.ids["a1"]
    answer = post(client, a1, "status", version="1", status="IN_PROGRESS")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/tasks/{a1}?notice=status"
    rows = history(session, a1)
    assert [(r.field, r.old_value, r.new_value, r.actor_id, r.source) for r in rows] == [
        (
            HistoryField.STATUS,
            "NOT_STARTED",
            "IN_PROGRESS",
            plan.supplier_a.token_id,
            ChangeSource.API,
        )
    ]
    assert instance(session, a1).version == 2
    after = client.get(answer.headers["location"])
    assert '<p class="notice" role="status">The status was changed.</p>' in after.text


def test_a_move_needing_a_reason_takes_it(
    signed_in: SignedIn, manager: Caller, plan: Plan, session: Session
) -> None:
    client = signed_in(manager)
    a1 = plan.ids["a1"]
    before = snapshot(session)
    without = post(client, a1, "status", version="1", status="BLOCKED")
    assert without.status_code == 422
    assert "REASON_REQUIRED" in without.text
    assert snapshot(session) == before
    blocked = post(client, a1, "status", version="1", status="BLOCKED", reason="tool broke")
    assert blocked.status_code == 303
    assert history(session, a1)[-1].reason == "tool broke"


def test_a_supplier_approving_is_refused_and_nothing_changes(
    signed_in: SignedIn, plan: Plan, session: Session
) -> None:
    client = signed_in(plan.supplier_a)
    a1 = plan.ids["a1"]
    post(client, a1, "status", version="1", status="IN_PROGRESS")
    post(client, a1, "status", version="2", status="SUBMITTED")
    assert instance(session, a1).status == "SUBMITTED"
    assert buttons(client.get(f"/tasks/{a1}").text, f"/tasks/{a1}/status") == []
    before = snapshot(session)
    refused = post(client, a1, "status", version="3", status="APPROVED")
    assert refused.status_code == 403
    assert "<h1>Not allowed</h1>" in refused.text
    assert "TRANSITION_FORBIDDEN" in refused.text
    assert snapshot(session) == before
    invalid = post(client, a1, "status", version="3", status="NOT_STARTED")
    assert invalid.status_code == 422
    assert "INVALID_TRANSITION" in invalid.text
    assert post(client, a1, "status", version="3", status="DONE").status_code == 422
    assert snapshot(session) == before


def test_a_stale_version_is_the_changed_meanwhile_page(
    signed_in: SignedIn, manager: Caller, plan: Plan, session: Session
) -> None:
    client = signed_in(manager)
    a1 = plan.ids["a1"]
    post(client, a1, "notes", version="1", notes="first")
    before = snapshot(session)
    for what, fields in (
        ("status", {"status": "IN_PROGRESS"}),
        ("notes", {"notes": "second"}),
        ("due", {"actualDue": days(33).isoformat(), "reasonCode": "TOOLING_DELAY"}),
        ("due/preview", {"actualDue": days(33).isoformat(), "reasonCode": "TOOLING_DELAY"}),
    ):
        stale = post(client, a1, what, version="1", **fields)
        assert stale.status_code == 412, what
        assert "<h1>Changed meanwhile</h1>" in stale.text
    assert snapshot(session) == before
    missing = post(client, a1, "status", status="IN_PROGRESS")
    assert missing.status_code == 422
    assert snapshot(session) == before


@pytest.mark.parametrize("what", ["status", "notes", "due", "due/preview"])
def test_a_form_without_its_csrf_secret_is_refused(
    signed_in: SignedIn, manager: Caller, plan: Plan, session: Session, what: str
) -> None:
    client = signed_in(manager)
    a1 = plan.ids["a1"]
    fields = {
        "version": "1",
        "status": "IN_PROGRESS",
        "notes": "x",
        "actualDue": days(33).isoformat(),
        "reasonCode": "TOOLING_DELAY",
    }
    before = snapshot(session)
    for csrf in (None, "not-the-secret"):
        answer = post(client, a1, what, csrf=csrf, **fields)
        assert answer.status_code == 403
        assert "CSRF_REJECTED" in answer.text
    other_site = client.post(
        f"/tasks/{a1}/{what}",
        data={**fields, "csrf": csrf_of(client.get(f"/tasks/{a1}").text)},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert other_site.status_code == 403
    assert snapshot(session) == before


def test_another_suppliers_instance_is_not_found(
    signed_in: SignedIn, plan: Plan, session: Session
) -> None:
    client = signed_in(plan.supplier_a)
    b1 = plan.ids["b1"]
    page = client.get(f"/tasks/{b1}")
    assert page.status_code == 404
    assert "<h1>Not found</h1>" in page.text
    assert client.get("/tasks/999999").status_code == 404
    csrf = csrf_of(client.get("/tasks").text)
    before = snapshot(session)
    for what, fields in (
        ("status", {"status": "IN_PROGRESS"}),
        ("notes", {"notes": "mine now"}),
    ):
        answer = client.post(
            f"/tasks/{b1}/{what}",
            data={"csrf": csrf, "version": "1", **fields},
            follow_redirects=False,
        )
        assert answer.status_code == 404, what
    assert snapshot(session) == before


def test_roles_that_may_not_write_get_the_403_page(
    signed_in: SignedIn, viewer: Caller, plan: Plan, session: Session
) -> None:
    a1 = plan.ids["a1"]
    before = snapshot(session)
    as_viewer = signed_in(viewer)
    csrf = csrf_of(as_viewer.get(f"/tasks/{a1}").text)
    for what in ("status", "notes", "due", "due/preview"):
        answer = as_viewer.post(
            f"/tasks/{a1}/{what}",
            data={"csrf": csrf, "version": "1", "status": "IN_PROGRESS", "notes": "x"},
            follow_redirects=False,
        )
        assert answer.status_code == 403, what
    as_supplier = signed_in(plan.supplier_a)
    csrf = csrf_of(as_supplier.get(f"/tasks/{a1}").text)
    for what in ("due", "due/preview"):
        answer = as_supplier.post(
            f"/tasks/{a1}/{what}",
            data={
                "csrf": csrf,
                "version": "1",
                "actualDue": days(33).isoformat(),
                "reasonCode": "TOOLING_DELAY",
            },
            follow_redirects=False,
        )
        assert answer.status_code == 403, what
    assert snapshot(session) == before


def test_notes_are_saved_and_cleared(signed_in: SignedIn, plan: Plan, session: Session) -> None:
    client = signed_in(plan.supplier_a)
    a1 = plan.ids["a1"]
    saved = post(client, a1, "notes", version="1", notes="  first samples shipped ")
    assert saved.headers["location"] == f"/tasks/{a1}?notice=notes"
    assert instance(session, a1).notes == "first samples shipped"
    post(client, a1, "notes", version="2", notes="")
    assert instance(session, a1).notes is None
    assert [r.field for r in history(session, a1)] == [HistoryField.NOTES, HistoryField.NOTES]
    too_long = post(client, a1, "notes", version="3", notes="x" * 10_001)
    assert too_long.status_code == 422


def test_a_due_move_without_a_reason_code_is_the_422_page(
    signed_in: SignedIn, manager: Caller, plan: Plan, session: Session
) -> None:
    client = signed_in(manager)
    a1 = plan.ids["a1"]
    before = snapshot(session)
    for what in ("due/preview", "due"):
        answer = post(client, a1, what, version="1", actualDue=days(35).isoformat())
        assert answer.status_code == 422, what
        assert "REASON_CODE_REQUIRED" in answer.text
        assert "<h1>Please check the form</h1>" in answer.text
    for bad in ("2026-02-30", "tomorrow", ""):
        answer = post(client, a1, "due", version="1", actualDue=bad, reasonCode="OTHER")
        assert answer.status_code == 422, bad
    bad_code = post(
        client, a1, "due", version="1", actualDue=days(35).isoformat(), reasonCode="BECAUSE"
    )
    assert bad_code.status_code == 422
    assert snapshot(session) == before


def test_the_preview_changes_nothing_and_is_what_the_apply_does(
    signed_in: SignedIn, manager: Caller, plan: Plan, session: Session
) -> None:
    client = signed_in(manager)
    a1, a2 = plan.ids["a1"], plan.ids["a2"]
    fields = {
        "version": "1",
        "actualDue": days(45).isoformat(),
        "reasonCode": "TOOLING_DELAY",
        "reason": "press down",
        "cascade": "1",
    }
    before = snapshot(session)
    preview = post(client, a1, "due/preview", **fields)
    assert preview.status_code == 200, preview.text
    assert snapshot(session) == before
    section = preview.text.split('id="preview"', 1)[1].split("</section>", 1)[0]
    assert "Preview: nothing has changed yet" in section
    assert "2 instances would move" in section
    shown = [
        words(row) for row in section.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")[1:]
    ]
    # a1 by 15 days to +45; its dependent a2 (+40) by the same 15 days, to +55.
    assert shown == [
        f"{a1} PPAP &lt;first&gt; {days(30).isoformat()} {days(45).isoformat()} This task",
        f"{a2} Run at rate {days(40).isoformat()} {days(55).isoformat()} Cascade",
    ]
    # The form is kept as given, and Apply carries the same values.
    assert 'name="actualDue" value="' + days(45).isoformat() in section
    assert '<input type="hidden" name="cascade" value="1">' in section
    assert "Apply the move" in section
    # The preview equals the plan the update applies (the flows, side by side).
    command = TaskInstanceUpdate.model_validate(
        {
            "actualDue": fields["actualDue"],
            "reasonCode": "TOOLING_DELAY",
            "reason": "press down",
            "cascade": True,
        }
    )
    actor = Actor(manager.token_id, Role.MANAGER, "test-manager")
    flow = Flow(session, actor, session.info["database"].settings)
    planned = InstanceFlows(flow).preview_due(a1, command, 1)
    assert snapshot(session) == before
    applied = post(client, a1, "due", **fields)
    assert applied.status_code == 303
    assert applied.headers["location"] == f"/tasks/{a1}?notice=due"
    moved = {
        r.task_instance_id: (r.old_value, r.new_value, r.source)
        for r in history(session)
        if r.field == HistoryField.ACTUAL_DUE
    }
    assert moved == {
        node: (old.isoformat(), new.isoformat(), source)
        for node, (old, new, source) in planned.moves.items()
    }
    assert moved == {
        a1: (days(30).isoformat(), days(45).isoformat(), ChangeSource.API),
        a2: (days(40).isoformat(), days(55).isoformat(), ChangeSource.CASCADE),
    }
    assert instance(session, a1).version == 2
    assert instance(session, a2).version == 2
    assert all(r.reason_code == "TOOLING_DELAY" for r in history(session))
    done = client.get(applied.headers["location"]).text
    assert "The due date was moved." in done
    assert f"Actual due {days(45).isoformat()}" in words(done)


def test_a_preview_lists_the_rules_it_breaks_and_offers_no_apply(
    signed_in: SignedIn, manager: Caller, plan: Plan, session: Session
) -> None:
    client = signed_in(manager)
    a2 = plan.ids["a2"]
    before = snapshot(session)
    # a2 before its prerequisite a1 (+30), and in the past.
    preview = post(
        client,
        a2,
        "due/preview",
        version="1",
        actualDue=days(-1).isoformat(),
        reasonCode="PLAN_CHANGE",
    )
    assert preview.status_code == 200
    section = preview.text.split('id="preview"', 1)[1].split("</section>", 1)[0]
    assert "DUE_DATE_IN_PAST" in section
    assert "DEPENDENCY_ORDER" in section
    assert "Apply the move" not in section
    assert snapshot(session) == before
    # Applying it anyway is refused with the first of them, as the API refuses it.
    applied = post(
        client, a2, "due", version="1", actualDue=days(-1).isoformat(), reasonCode="PLAN_CHANGE"
    )
    assert applied.status_code == 422
    assert snapshot(session) == before
    same = post(
        client,
        a2,
        "due/preview",
        version="1",
        actualDue=days(40).isoformat(),
        reasonCode="PLAN_CHANGE",
    )
    assert "nothing would move" in same.text


def test_past_sop_needs_a_reason_text(
    signed_in: SignedIn, manager: Caller, plan: Plan, session: Session
) -> None:
    client = signed_in(manager)
    a2 = plan.ids["a2"]
    late = (today() + timedelta(days=300)).isoformat()
    before = snapshot(session)
    applied = post(client, a2, "due", version="1", actualDue=late, reasonCode="PLAN_CHANGE")
    assert applied.status_code == 422
    assert "REASON_REQUIRED" in applied.text
    assert "start of production" in applied.text
    assert snapshot(session) == before
    ok = post(
        client,
        a2,
        "due",
        version="1",
        actualDue=late,
        reasonCode="PLAN_CHANGE",
        reason="customer moved SOP",
    )
    assert ok.status_code == 303
    assert instance(session, a2).actual_due.isoformat() == late


def test_back_returns_only_to_our_own_pages(signed_in: SignedIn, plan: Plan) -> None:
    client = signed_in(plan.supplier_a)
    a1 = plan.ids["a1"]
    portal = post(client, a1, "notes", version="1", notes="a", back="/portal")
    assert portal.headers["location"] == f"/portal?notice=notes#task-{a1}"
    for evil in ("https://evil.example/", "//evil.example", "/portal/../x", "/tasks/1/x", "/"):
        version = str(instance_version(client, a1))
        answer = post(client, a1, "notes", version=version, notes=evil, back=evil)
        assert answer.headers["location"] == f"/tasks/{a1}?notice=notes", evil


def instance_version(client: TestClient, instance_id: int) -> int:
    """The version the instance page shows."""
    page = client.get(f"/tasks/{instance_id}").text
    return int(page.split('name="version" value="', 1)[1].split('"', 1)[0])


def test_the_error_pages_back_link_of_a_preview_leads_to_the_form(
    signed_in: SignedIn, manager: Caller, plan: Plan
) -> None:
    client = signed_in(manager)
    a1 = plan.ids["a1"]
    answer = client.get(f"/tasks/{a1}/due", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/tasks/{a1}#due"
