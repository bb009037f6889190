"""Control characters other than tab and newline are refused in every text a client sends.

Bodies (422, nothing changed), query strings (400); tab and newline are kept exactly. The CSV
import has its own test (tests/tasks/test_importer.py).
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.contract.bad_cases import JSON
from tests.contract.support import World, assert_envelope, row_counts
from tests.contract.test_bad_input import snapshot
from tests.fixtures.auth import Caller

REFUSED = ["\x00", "\x01", "\x1b", "\r", "\x7f", "\x85", "\x9f"]


@pytest.mark.parametrize("character", REFUSED, ids=[f"U+{ord(c):04X}" for c in REFUSED])
def test_a_control_character_in_a_body_is_refused_and_changes_nothing(
    client: TestClient, session: Session, world: World, admin: Caller, character: str
) -> None:
    headers = {**admin.headers, **JSON}
    text = json.dumps(f"before{character}after")
    for method, path, body in (
        ("POST", "/api/projects", f'{{"code": "CTL-1", "name": {text}}}'),
        ("POST", "/api/suppliers", f'{{"code": "CTL-2", "name": {text}}}'),
        ("PATCH", f"/api/task-instances/{world.instance_a}", f'{{"notes": {text}}}'),
    ):
        counts, rows = row_counts(session), snapshot(session)
        response = client.request(method, path, content=body.encode(), headers=headers)
        error = assert_envelope(response, 422, "VALIDATION_ERROR")
        assert "control characters" in json.dumps(error), (method, path)
        assert (row_counts(session), snapshot(session)) == (counts, rows)


def test_tab_and_newline_are_kept_exactly(client: TestClient, world: World, admin: Caller) -> None:
    notes = "line one\n\tline two"
    response = client.patch(
        f"/api/task-instances/{world.instance_a}", json={"notes": notes}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["notes"] == notes


@pytest.mark.parametrize("escaped", ["%00", "%01", "%1b", "%7F", "%C2%85"])
def test_a_control_character_in_a_query_is_refused(
    client: TestClient, admin: Caller, escaped: str
) -> None:
    for path in ("/api/projects", "/api/task-instances"):
        response = client.get(f"{path}?q=a{escaped}b", headers=admin.headers)
        assert_envelope(response, 400, "BAD_REQUEST")
    plain = client.get("/api/projects?q=a%20b", headers=admin.headers)
    assert plain.status_code == 200
