"""What the contract tests share: the two-supplier data set, row counts, the error envelope.

The data set (``world``) is built through the services, as the API would build it:

- suppliers A and B (both ``machining``) and C (ACTIVE, on no project: the one to assign);
- projects PA (A only), PB (B only) and PS (shared: A and B);
- templates: PA has ``ta`` and ``ta_extra``, PB has ``tb`` and ``tb_extra``, PS has ``ts``;
  each fans out to the suppliers of its project;
- the instances of ``ta_extra`` / ``tb_extra`` are deleted again (over the API), so that a
  manager can create them by hand (POST /api/task-instances);
- A's instance of ``ta`` and B's instances of ``tb`` and ``ts`` get a NOTES change each
  (history rows, over the API), and stay NOT_STARTED so that a supplier may start them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from supplytrack.auth.service import TokenService
from supplytrack.core.db import Database
from supplytrack.core.identity import Role
from supplytrack.main import create_app
from supplytrack.models import Base
from supplytrack.suppliers.models import SupplierProject
from supplytrack.tasks.models import TaskInstance
from supplytrack.templates.models import TaskTemplate
from tests.fixtures.auth import Caller, make_caller
from tests.fixtures.database import TransactionalDatabase
from tests.fixtures.factories import Factory

MISSING_ID = 999_999
ENVELOPE_KEYS = {"code", "message", "details", "requestId"}


@dataclass(frozen=True)
class World:
    """Ids of the contract data set (see the module docstring)."""

    supplier_a: int
    supplier_b: int
    supplier_c: int
    supplier_a_code: str
    supplier_b_code: str
    project_a: int
    project_b: int
    project_shared: int
    project_a_code: str
    project_b_code: str
    template_a: int
    template_a_extra: int
    template_b: int
    template_b_extra: int
    template_shared: int
    assignment_a: int  # A on PA
    assignment_b: int  # B on PB
    assignment_a_shared: int  # A on PS
    assignment_b_shared: int  # B on PS
    instance_a: int  # A's instance of ta: NOT_STARTED, with history
    instance_a_shared: int  # A's instance of ts: NOT_STARTED, no history
    instance_b: int  # B's instance of tb: NOT_STARTED, with history
    instance_b_shared: int  # B's instance of ts: NOT_STARTED, with history
    token_a: int  # a spare viewer token (for the tokens API)
    token_b: int  # another spare viewer token


def _instance(session: Session, assignment: SupplierProject, template: TaskTemplate) -> int:
    return session.scalars(
        select(TaskInstance.id).where(
            TaskInstance.supplier_project_id == assignment.id,
            TaskInstance.task_template_id == template.id,
        )
    ).one()


def build_world(session: Session, factory: Factory, client: TestClient) -> World:
    """Create the data set in the test's session (rolled back after the test)."""
    a = factory.supplier(capabilities=("machining",))
    b = factory.supplier(capabilities=("machining",))
    c = factory.supplier(capabilities=("machining",))
    pa, pb, ps = factory.project(), factory.project(), factory.project()
    sp_a, sp_b = factory.assign(pa, a), factory.assign(pb, b)
    sp_as, sp_bs = factory.assign(ps, a), factory.assign(ps, b)
    ta, ta_extra = factory.template(pa), factory.template(pa)
    tb, tb_extra = factory.template(pb), factory.template(pb)
    ts = factory.template(ps, required_capability="machining")
    # History and deletes go through the API, as a manager would make them.
    setup = make_caller(session, Role.MANAGER).headers
    for assignment, template in ((sp_a, ta_extra), (sp_b, tb_extra)):
        deleted = client.delete(
            f"/api/task-instances/{_instance(session, assignment, template)}", headers=setup
        )
        assert deleted.status_code == 204, deleted.text
    instance_a = _instance(session, sp_a, ta)
    instance_b = _instance(session, sp_b, tb)
    instance_b_shared = _instance(session, sp_bs, ts)
    for instance_id in (instance_a, instance_b, instance_b_shared):
        noted = client.patch(
            f"/api/task-instances/{instance_id}",
            json={"notes": "kick-off meeting held"},
            headers=setup,
        )
        assert noted.status_code == 200, noted.text
    tokens = TokenService(session)
    spare_a, _ = tokens.create("spare-a", Role.VIEWER, None)
    spare_b, _ = tokens.create("spare-b", Role.VIEWER, None)
    session.flush()
    return World(
        supplier_a=a.id,
        supplier_b=b.id,
        supplier_c=c.id,
        supplier_a_code=a.code,
        supplier_b_code=b.code,
        project_a=pa.id,
        project_b=pb.id,
        project_shared=ps.id,
        project_a_code=pa.code,
        project_b_code=pb.code,
        template_a=ta.id,
        template_a_extra=ta_extra.id,
        template_b=tb.id,
        template_b_extra=tb_extra.id,
        template_shared=ts.id,
        assignment_a=sp_a.id,
        assignment_b=sp_b.id,
        assignment_a_shared=sp_as.id,
        assignment_b_shared=sp_bs.id,
        instance_a=instance_a,
        instance_a_shared=_instance(session, sp_as, ts),
        instance_b=instance_b,
        instance_b_shared=instance_b_shared,
        token_a=spare_a.id,
        token_b=spare_b.id,
    )


# Bookkeeping of the caller's own token, not data: any authenticated request may note its use
# (at most once a minute), whatever it asked.
BOOKKEEPING = frozenset({"api_token_usage"})


def row_counts(session: Session) -> dict[str, int]:
    """The number of rows of every table of the schema (bookkeeping aside)."""
    session.expire_all()
    return {
        table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
        for table in Base.metadata.sorted_tables
        if table.name not in BOOKKEEPING
    }


def assert_envelope(
    response: httpx.Response, status: int | None = None, code: str | None = None
) -> dict[str, Any]:
    """Check SPEC's error envelope and the X-Request-ID header; return the error object."""
    if status is not None:
        assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == ENVELOPE_KEYS, error
    for key in ("code", "message", "requestId"):
        assert isinstance(error[key], str), error
        assert error[key], error
    assert isinstance(error["details"], list), error
    assert response.headers.get("x-request-id") == error["requestId"], (
        response.headers.get("x-request-id"),
        error["requestId"],
    )
    if code is not None:
        assert error["code"] == code, error
    return dict(error)


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path template) the application serves, read from its routing table.

    Included routers may be kept as lazy branches (FastAPI 0.16x); they are walked too, so
    that a route added anywhere shows up here. HEAD is implied by GET and left out, and so
    are the web app's pages (their own contract is tests/web/test_page_access.py).
    """
    found: set[tuple[str, str]] = set()

    def walk(routes: Any) -> None:
        for route in routes:
            path = getattr(route, "path", None)
            if getattr(getattr(route, "original_route", route), "page", False):
                continue  # a web page: tests/web/test_page_access.py holds their contract
            if isinstance(path, str):
                methods = getattr(route, "methods", None) or {"*"}
                found.update((method, path) for method in methods if method != "HEAD")
                continue
            candidates = getattr(route, "effective_candidates", None)
            if callable(candidates):
                walk(candidates())
            elif getattr(route, "routes", None) is not None:
                walk(route.routes)
            else:  # pragma: no cover - a route kind this walker does not know
                msg = f"cannot read the routes of {route!r}"
                raise AssertionError(msg)

    walk(app.routes)
    return found


@dataclass(frozen=True)
class Shared:
    """A data set built once for a module: its connection, app, client, session and tokens."""

    connection: Connection
    app: FastAPI
    client: TestClient
    session: Session
    world: World
    admin: Caller
    manager: Caller
    viewer: Caller
    supplier_a: Caller


# Every test of a module shares the tokens: lift the bulk rate limit out of their way (it is
# not what these tests are about).
# Thousands of generated requests a token: no rate limits (tests/core/test_ratelimit.py has them).
UNLIMITED = {"bulk_rate_limit": "off", "rate_limit_default": "off", "rate_limit_supplier": "off"}


@contextmanager
def shared_data_set(shared_database: Database) -> Iterator[Shared]:
    """Build the data set in an outer transaction that is rolled back at the end."""
    with shared_database.engine.connect() as connection:
        outer = connection.begin()
        database = TransactionalDatabase(shared_database.settings, connection)
        app = create_app(database.settings.model_copy(update=UNLIMITED), database=database)
        try:
            with (
                TestClient(app, raise_server_exceptions=False) as client,
                database.session(write=True) as session,
            ):
                world = build_world(session, Factory(session), client)
                yield Shared(
                    connection,
                    app,
                    client,
                    session,
                    world,
                    admin=make_caller(session, Role.ADMIN),
                    manager=make_caller(session, Role.MANAGER),
                    viewer=make_caller(session, Role.VIEWER),
                    supplier_a=make_caller(session, Role.SUPPLIER, world.supplier_a),
                )
        finally:
            outer.rollback()


@contextmanager
def rolled_back(shared: Shared) -> Iterator[None]:
    """A savepoint around one test: whatever it (or a request it sent) changed is undone."""
    nested = shared.connection.begin_nested()
    try:
        yield
    finally:
        if nested.is_active:
            nested.rollback()
        shared.session.expire_all()
