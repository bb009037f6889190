"""Bad input never changes data, never yields a 500, and always answers SPEC's error envelope.

Each case sends one bad request as an admin (who may call every route) and checks the status,
the error code, the envelope with its X-Request-ID, and that every table holds exactly the
rows it held before. Unicode is the good-input counterpart: accepted and returned exactly.
The cases are in bad_bodies.py and bad_params.py (their vocabulary in bad_cases.py).

The data set is built once for the module (hundreds of cases read it, none may change it);
each test runs inside a savepoint that is rolled back, so a request wrongly accepted cannot
leak into the next case.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from supplytrack.models import Base
from tests.contract.bad_bodies import body_cases
from tests.contract.bad_cases import INSTANCE_A, JSON, LISTS, Bad, due, resolve
from tests.contract.bad_params import param_cases
from tests.contract.scope_table import TABLE
from tests.contract.support import BOOKKEEPING, World, assert_envelope, row_counts
from tests.fixtures.auth import Caller

CASES = [*body_cases(), *param_cases()]


def snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (the data set is small), to prove nothing changed."""
    session.expire_all()
    return {
        table.name: sorted((tuple(row) for row in session.execute(select(table)).all()), key=repr)
        for table in Base.metadata.sorted_tables
        if table.name not in BOOKKEEPING
    }


def send(client: TestClient, case: Bad, world: World, caller: Caller) -> httpx.Response:
    """Send a bad request as ``caller``."""
    path = case.path.format(**asdict(world))
    headers = {**caller.headers, **case.headers}
    params = {key: resolve(value, world) for key, value in case.params.items()}
    if case.content is not None:
        content: Any = case.content
        if case.chunked:
            chunk = case.content

            def stream() -> Iterator[bytes]:
                for start in range(0, len(chunk), 65_536):
                    yield chunk[start : start + 65_536]

            content = stream()
        sent: httpx.Response = client.request(
            case.method, path, content=content, headers=headers, params=params
        )
        return sent
    body = resolve(case.json, world)
    response: httpx.Response = client.request(
        case.method, path, json=body, headers=headers, params=params
    )
    return response


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_refused_without_a_trace(
    client: TestClient, session: Session, world: World, admin: Caller, case: Bad
) -> None:
    """The promised 4xx in the envelope, and not one row changed."""
    counts, rows = row_counts(session), snapshot(session)
    response = send(client, case, world, admin)
    assert response.status_code < 500, response.text[:500]
    assert_envelope(response, case.status, case.code)
    if case.chunked:
        assert "content-length" not in {k.lower() for k in response.request.headers}
    assert row_counts(session) == counts
    assert snapshot(session) == rows


# --- cursors that are valid, but for another list or another sort ---------------------------


def _first_cursor(client: TestClient, path: str, params: dict[str, Any], caller: Caller) -> str:
    response = client.get(path, params={**params, "limit": 1}, headers=caller.headers)
    assert response.status_code == 200, response.text
    cursor = response.json()["nextCursor"]
    assert isinstance(cursor, str)
    assert cursor
    return cursor


@pytest.mark.parametrize(
    ("source", "target"),
    [
        pytest.param(
            ("/api/projects", {"sort": "name"}),
            ("/api/projects", {"sort": "code"}),
            id="projects name -> code",
        ),
        pytest.param(
            ("/api/projects", {"sort": "name"}),
            ("/api/projects", {"sort": "-name"}),
            id="projects name -> -name",
        ),
        pytest.param(
            ("/api/task-instances", {"sort": "actualDue"}),
            ("/api/task-instances", {"sort": "status"}),
            id="instances due -> status",
        ),
        pytest.param(
            ("/api/task-instances", {"sort": "createdAt"}),
            ("/api/task-instances", {"sort": "actualDue"}),
            id="instances created -> due",
        ),
        pytest.param(
            ("/api/suppliers", {"sort": "code"}),
            ("/api/suppliers", {"sort": "updatedAt"}),
            id="suppliers code -> updatedAt",
        ),
        pytest.param(("/api/tokens", {}), ("/api/projects", {}), id="tokens -> projects"),
        pytest.param(("/api/projects", {}), ("/api/tokens", {}), id="projects -> tokens"),
    ],
)
def test_cursor_of_another_sort_or_list_is_400(
    client: TestClient,
    session: Session,
    world: World,
    admin: Caller,
    source: tuple[str, dict[str, Any]],
    target: tuple[str, dict[str, Any]],
) -> None:
    """A cursor only resumes the list and sort that made it."""
    cursor = _first_cursor(client, source[0], source[1], admin)
    counts = row_counts(session)
    response = client.get(target[0], params={**target[1], "cursor": cursor}, headers=admin.headers)
    assert_envelope(response, 400, "INVALID_CURSOR")
    assert row_counts(session) == counts


# --- a real cursor resumes exactly where its page ended ---------------------------------------

SORTS: dict[str, tuple[str, ...]] = {
    "projects": ("id", "code", "name", "createdAt", "updatedAt"),
    "suppliers": ("id", "code", "name", "createdAt", "updatedAt"),
    "instances": ("id", "actualDue", "status", "createdAt", "updatedAt"),
    "templates": ("id", "sequence", "canonicalDue", "name"),
}


def _paging_cases() -> Iterator[Any]:
    for name, sorts in SORTS.items():
        for sort in sorts:
            for value in (sort, f"-{sort}"):
                yield pytest.param(name, value, id=f"{name} sort={value}")
    for name in ("assignments", "history", "tokens"):
        yield pytest.param(name, None, id=f"{name} by id")


@pytest.mark.parametrize(("name", "sort"), list(_paging_cases()))
def test_walking_pages_of_one_row_gives_the_whole_list(
    client: TestClient, world: World, admin: Caller, name: str, sort: str | None
) -> None:
    """Pages of one row, cursor after cursor, list exactly the rows of one big page."""
    path = LISTS[name].format(**asdict(world))
    if name == "assignments":
        path = path.replace(str(world.project_a), str(world.project_shared))
    if name == "history":
        for note in ("second", "third"):
            client.patch(path.removesuffix("/history"), json={"notes": note}, headers=admin.headers)
    params = {"sort": sort} if sort else {}
    whole = client.get(path, params={**params, "limit": 500}, headers=admin.headers)
    assert whole.status_code == 200, whole.text
    expected = [item["id"] for item in whole.json()["items"]]
    assert len(expected) >= 2, "the data set gives every list two rows or more"
    walked: list[int] = []
    cursor: str | None = None
    for _ in range(len(expected) + 2):
        query = {**params, "limit": 1, **({"cursor": cursor} if cursor else {})}
        page = client.get(path, params=query, headers=admin.headers)
        assert page.status_code == 200, page.text[:300]
        walked.extend(item["id"] for item in page.json()["items"])
        cursor = page.json()["nextCursor"]
        if cursor is None:
            break
    assert walked == expected


# --- SQL-looking text is only text -----------------------------------------------------------

SQLISH = (
    "' OR 1=1 --",
    "'; DROP TABLE projects; --",
    '" OR ""="',
    "%",
    "_",
    "\\",
    "%' OR '%'='",
    "1) UNION SELECT digest FROM api_tokens --",
)


@pytest.mark.parametrize("text", SQLISH)
@pytest.mark.parametrize("path", ["/api/projects", "/api/suppliers"])
def test_sql_looking_search_is_harmless(
    client: TestClient, session: Session, world: World, admin: Caller, path: str, text: str
) -> None:
    """q is matched literally: nothing matches, nothing changes, nothing breaks."""
    counts, rows = row_counts(session), snapshot(session)
    response = client.get(path, params={"q": text}, headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []
    filtered = client.get(path, params={"q": text, "sort": "-name"}, headers=admin.headers)
    assert filtered.status_code == 200
    assert row_counts(session) == counts
    assert snapshot(session) == rows


@pytest.mark.parametrize("text", SQLISH)
def test_sql_looking_filters_are_refused_or_harmless(
    client: TestClient, session: Session, world: World, admin: Caller, text: str
) -> None:
    """Enum, id and capability filters refuse SQL-looking text with a 422."""
    counts = row_counts(session)
    for path, name in (
        ("/api/suppliers", "capability"),
        ("/api/suppliers", "status"),
        ("/api/task-instances", "status"),
        ("/api/task-instances", "projectId"),
        ("/api/projects", "status"),
        (INSTANCE_A.format(**asdict(world)) + "/history", "field"),
    ):
        response = client.get(path, params={name: text}, headers=admin.headers)
        assert_envelope(response, 422, "VALIDATION_ERROR")
    assert row_counts(session) == counts


# --- unicode is accepted and returned exactly ------------------------------------------------

UNICODE = {
    "emoji": "Ladesäule 🚗⚡🔋",
    "zwj emoji": "Werkzeug 👩🏽‍🔧 und 🏳️‍🌈",
    "right-to-left": "مشروع السيارة الكهربائية",
    "mixed direction": "EV-Programm \u202e\u05d8\u05e1\u05d8\u202c fin",
    "combining marks": "Cafe\u0301 Z\u0351\u0337a\u0360l\u0358g\u0334o",
    "astral letters": (
        "\U0001d518\U0001d52b\U0001d526\U0001d520\U0001d52c\U0001d521\U0001d522"
        " \U0001d57e\U0001d59a\U0001d595\U0001d595\U0001d591\U0001d59e"
    ),
    "cjk": "電気自動車プログラム",
    "not normalised": "A\u030a and \u00c5",
    "sql as text": "'; DROP TABLE projects; --",
    "200 emoji": "🚗" * 200,
}


@pytest.mark.parametrize("name", list(UNICODE))
def test_unicode_names_round_trip_exactly(
    client: TestClient, session: Session, world: World, admin: Caller, name: str
) -> None:
    """What was sent is what is stored and read back, code point for code point."""
    text = UNICODE[name]
    project = client.post(
        "/api/projects",
        json={"code": f"UNI-{len(text)}", "name": text, "description": text},
        headers=admin.headers,
    )
    assert project.status_code == 201, project.text
    assert project.json()["name"] == text
    fetched = client.get(f"/api/projects/{project.json()['id']}", headers=admin.headers).json()
    assert (fetched["name"], fetched["description"]) == (text, text)
    supplier = client.patch(
        f"/api/suppliers/{world.supplier_a}", json={"name": text}, headers=admin.headers
    )
    assert supplier.status_code == 200, supplier.text
    assert (
        client.get(f"/api/suppliers/{world.supplier_a}", headers=admin.headers).json()["name"]
        == text
    )
    template = client.post(
        f"/api/projects/{world.project_a}/task-templates",
        json={"name": text, "description": text, "canonicalDue": due()},
        headers=admin.headers,
    )
    assert template.status_code == 201, template.text
    assert (
        client.get(f"/api/task-templates/{template.json()['id']}", headers=admin.headers).json()[
            "name"
        ]
        == text
    )
    notes = client.patch(
        f"/api/task-instances/{world.instance_a}",
        json={"notes": text, "reason": text},
        headers=admin.headers,
    )
    assert notes.status_code == 200, notes.text
    assert notes.json()["notes"] == text
    history = client.get(
        f"/api/task-instances/{world.instance_a}/history", headers=admin.headers
    ).json()["items"][0]
    assert (history["newValue"], history["reason"]) == (text, text)


@pytest.mark.parametrize(
    ("name", "queries"),
    [
        pytest.param("Ladesäule 🚗⚡", ("Ladesäule", "🚗", "ladesäule"), id="emoji and lower-case"),
        pytest.param("مشروع السيارة", ("السيارة",), id="right-to-left"),
        pytest.param(
            "Ångström Ölwerk",
            ("Ångström", "Ölwerk", "ÅNGSTRÖM", "ölwerk"),
            id="upper-case outside ASCII",
        ),
    ],
)
def test_search_finds_unicode_names(
    client: TestClient, admin: Caller, name: str, queries: tuple[str, ...]
) -> None:
    """q finds a name by any part of it, as typed and case-insensitively."""
    created = client.post(
        "/api/projects", json={"code": "UNI-SEARCH", "name": name}, headers=admin.headers
    )
    assert created.status_code == 201, created.text
    for query in queries:
        found = client.get("/api/projects", params={"q": query}, headers=admin.headers)
        assert [item["id"] for item in found.json()["items"]] == [created.json()["id"]], query


def test_nul_character_is_stored_exactly_or_refused(
    client: TestClient, session: Session, world: World, admin: Caller
) -> None:
    """A NUL is valid JSON: either it round-trips, or it is a 4xx that changes nothing."""
    text = _json_string("nul \u0000 byte")
    headers = {**admin.headers, **JSON}
    for method, path, content, read in (
        ("POST", "/api/projects", b'{"code": "NUL-1", "name": ' + text + b"}", "name"),
        ("PATCH", f"/api/task-instances/{world.instance_a}", b'{"notes": ' + text + b"}", "notes"),
    ):
        counts, rows = row_counts(session), snapshot(session)
        response = client.request(method, path, content=content, headers=headers)
        assert response.status_code < 500, (method, path, response.text[:300])
        if response.status_code < 300:
            assert response.json()[read] == "nul \u0000 byte"
        else:
            assert_envelope(response)
            assert (row_counts(session), snapshot(session)) == (counts, rows)
    query = client.get("/api/projects", params={"q": "a\u0000b"}, headers=admin.headers)
    assert query.status_code < 500, query.text[:300]


def test_lone_surrogate_is_refused(
    client: TestClient, session: Session, world: World, admin: Caller
) -> None:
    """A lone surrogate is no Unicode text: 422, nothing changed."""
    counts, rows = row_counts(session), snapshot(session)
    text = _json_string("lone \ud800 surrogate")
    headers = {**admin.headers, **JSON}
    for method, path, content in (
        ("POST", "/api/projects", b'{"code": "SUR-1", "name": ' + text + b"}"),
        ("PATCH", f"/api/task-instances/{world.instance_a}", b'{"notes": ' + text + b"}"),
    ):
        response = client.request(method, path, content=content, headers=headers)
        assert_envelope(response, 422, "VALIDATION_ERROR")
    assert row_counts(session) == counts
    assert snapshot(session) == rows


def _json_string(text: str) -> bytes:
    """``text`` as a JSON string literal, escaping everything outside ASCII."""
    return (
        '"'
        + "".join(
            ch if 32 <= ord(ch) < 127 and ch not in '"\\' else f"\\u{ord(ch):04x}" for ch in text
        )
        + '"'
    ).encode()


# --- a method the resource does not have ------------------------------------------------------

WRONG_METHODS = [
    ("DELETE", "/api/projects"),
    ("POST", "/api/projects/{project_a}"),
    ("PATCH", "/api/tokens"),
    ("PUT", "/api/task-instances/{instance_a}"),
    ("POST", "/api/suppliers/{supplier_a}"),
    ("PATCH", "/api/projects/{project_a}/suppliers"),
]


def _methods_of(template: str) -> set[str]:
    """The methods SPEC's route table (scope_table.TABLE) gives a path."""
    return {method for method, path in TABLE if path == template}


@pytest.mark.parametrize(("method", "path"), WRONG_METHODS)
def test_wrong_method_is_405_in_the_envelope(
    client: TestClient, session: Session, world: World, admin: Caller, method: str, path: str
) -> None:
    """405 METHOD_NOT_ALLOWED, nothing changed."""
    counts = row_counts(session)
    response = client.request(method, path.format(**asdict(world)), headers=admin.headers)
    assert_envelope(response, 405, "METHOD_NOT_ALLOWED")
    assert row_counts(session) == counts


@pytest.mark.parametrize(("method", "path"), WRONG_METHODS)
def test_wrong_method_names_the_allowed_ones(
    client: TestClient, world: World, admin: Caller, method: str, path: str
) -> None:
    """RFC 9110: a 405 lists in Allow the methods the resource does support."""
    template = re.sub(r"\{(project|supplier|instance)_a\}", r"{\1_id}", path)
    response = client.request(method, path.format(**asdict(world)), headers=admin.headers)
    allowed = {part.strip() for part in response.headers.get("allow", "").split(",")}
    assert allowed - {"HEAD", "OPTIONS"} == _methods_of(template)
