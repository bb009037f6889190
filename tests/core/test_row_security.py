"""Row-level security on PostgreSQL: a query that forgets its scope still sees only its own.

The database is set up as `supplytrack db roles` leaves it: the tables belong to an owner
role, the service connects as a role that owns nothing, is no superuser and has no
BYPASSRLS. The statements here deliberately carry no scope of their own (no WHERE on the
supplier): what narrows them is the policy, keyed on the settings of the transaction.
The route x role x own/other contract tests (tests/contract) run on such a database too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import exc, func, select, text, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from supplytrack.audit.models import (
    AccessLogEntry,
    AuditEntity,
    AuditLog,
    ChangeSource,
    TaskInstanceHistory,
)
from supplytrack.auth.models import ApiToken
from supplytrack.auth.service import TokenService, digest_of
from supplytrack.bulk.models import BulkKind, BulkOperation, BulkState
from supplytrack.cli import app as cli
from supplytrack.core.backup import backup, restore
from supplytrack.core.db import Database
from supplytrack.core.dbroles import create_roles
from supplytrack.core.identity import Role
from supplytrack.core.rowsecurity import Scope, actor_scope, lookup_scope, scoped_as
from supplytrack.demo.generator import load_demo_data
from supplytrack.jobs.models import Job
from supplytrack.main import create_app
from supplytrack.projects.models import Project
from supplytrack.suppliers.models import Supplier, SupplierCapability, SupplierProject
from supplytrack.tasks.models import TaskInstance
from supplytrack.templates.models import TaskTemplate
from tests.fixtures import database as fixture_database
from tests.fixtures.database import DatabaseFactory, is_postgres, settings_for

pytestmark = pytest.mark.skipif(
    not is_postgres(), reason="row-level security is PostgreSQL's (SQLite: the app's scope)"
)


@dataclass
class Secured:
    """A committed small demo set behind row-level security, and two suppliers' tokens."""

    database: Database  # as the service's role
    url: str
    owner_url: str
    supplier_a: int
    supplier_b: int
    token_a: tuple[int, str]  # (id, raw)
    token_b: tuple[int, str]

    def scope_of(self, supplier: int) -> Scope:
        token = self.token_a if supplier == self.supplier_a else self.token_b
        return actor_scope("supplier", supplier, token[0])


@pytest.fixture(scope="module")
def secured(database_factory: DatabaseFactory) -> Iterator[Secured]:
    url, owner_url = database_factory.with_row_security("rls")
    owner = Database(settings_for(owner_url))
    try:
        load_demo_data(owner, "small", 3, date.today())
    finally:
        owner.dispose()
    database = Database(settings_for(url))
    with database.session_scope() as session:  # the CLI's scope: the system
        # Two suppliers on the fewest projects: each has projects it may not see.
        fewest = (
            select(SupplierProject.supplier_id)
            .group_by(SupplierProject.supplier_id)
            .order_by(func.count(), SupplierProject.supplier_id)
            .limit(2)
        )
        a, b = session.scalars(fewest).all()
        tokens = TokenService(session)
        made_a, raw_a = tokens.create("rls a", Role.SUPPLIER, a)
        made_b, raw_b = tokens.create("rls b", Role.SUPPLIER, b)
        session.flush()
        token_a, token_b = (made_a.id, raw_a), (made_b.id, raw_b)
    yield Secured(database, url, owner_url, a, b, token_a, token_b)
    database.dispose()


def _all(database: Database, model: Any, scope: Scope | None = None) -> list[Any]:
    """Every row of ``model`` the scope sees, by a query with no WHERE at all."""
    if scope is None:
        with database.session_scope(write=False) as session:
            return list(session.scalars(select(model)).all())
    with scoped_as(scope), database.session_scope(write=False) as session:
        return list(session.scalars(select(model)).all())


def test_the_service_role_owns_nothing_and_cannot_bypass_the_policies(secured: Secured) -> None:
    with secured.database.engine.connect() as connection:
        role = connection.execute(
            text(
                "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles"
                " WHERE rolname = current_user"
            )
        ).one()
        owned = connection.execute(
            text(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND c.relowner = (SELECT oid FROM pg_roles"
                " WHERE rolname = current_user)"
            )
        ).scalar_one()
        with pytest.raises(exc.ProgrammingError):
            connection.execute(text("CREATE TABLE intruder (id int)"))
    assert tuple(role) == (False, False, False, False)
    assert owned == 0


def test_every_table_forces_row_security_and_views_run_as_the_caller(secured: Secured) -> None:
    with secured.database.engine.connect() as connection:
        tables = connection.execute(
            text(
                "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
                " AND c.relname <> 'alembic_version'"
            )
        ).all()
        # A view would run with its owner's rights (past the policies) unless security_invoker.
        views = connection.execute(
            text(
                "SELECT c.relname, c.reloptions FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm')"
            )
        ).all()
    assert len(tables) >= 17
    assert [name for name, on, forced in tables if not (on and forced)] == []
    assert [name for name, options in views if "security_invoker=true" not in (options or [])] == []


# model -> what a supplier's unscoped query may return of it
_OWN_ROWS = [
    (TaskInstance, lambda row, s: row.supplier_id == s),
    (SupplierProject, lambda row, s: row.supplier_id == s),
    (SupplierCapability, lambda row, s: row.supplier_id == s),
    (Supplier, lambda row, s: row.id == s),
]


@pytest.mark.parametrize(("model", "own"), _OWN_ROWS, ids=lambda v: getattr(v, "__name__", ""))
def test_an_unscoped_query_returns_only_the_suppliers_own_rows(
    secured: Secured, model: Any, own: Any
) -> None:
    everything = _all(secured.database, model)
    for supplier in (secured.supplier_a, secured.supplier_b):
        seen = _all(secured.database, model, secured.scope_of(supplier))
        expected = [row for row in everything if own(row, supplier)]
        assert seen, f"{model.__name__}: the supplier sees nothing of its own"
        assert sorted(_key(r) for r in seen) == sorted(_key(r) for r in expected)


def _key(row: Any) -> tuple[Any, ...]:
    return tuple(getattr(row, c.key) for c in row.__mapper__.primary_key)


def test_history_projects_and_milestones_follow_the_suppliers_assignments(
    secured: Secured,
) -> None:
    database, a = secured.database, secured.supplier_a
    instances = {i.id for i in _all(database, TaskInstance) if i.supplier_id == a}
    projects = {sp.project_id for sp in _all(database, SupplierProject) if sp.supplier_id == a}
    scope = secured.scope_of(a)
    history = _all(database, TaskInstanceHistory, scope)
    assert history
    assert {h.task_instance_id for h in history} <= instances
    assert {p.id for p in _all(database, Project, scope)} == projects
    assert {t.project_id for t in _all(database, TaskTemplate, scope)} == projects
    assert len(_all(database, Project)) > len(projects)


@pytest.mark.parametrize("model", [AuditLog, AccessLogEntry, Job, BulkOperation])
def test_staff_only_tables_show_a_supplier_nothing(secured: Secured, model: Any) -> None:
    with secured.database.session_scope() as session:  # at least one row of each, as the system
        if not session.scalar(select(func.count()).select_from(model)):
            _add_one(session, model)
    assert _all(secured.database, model)
    assert _all(secured.database, model, secured.scope_of(secured.supplier_a)) == []


def _add_one(session: Session, model: Any) -> None:
    if model is Job:
        session.add(Job(kind="rls"))
    elif model is AccessLogEntry:
        session.execute(
            text(
                "INSERT INTO access_log (at, token_id, role, supplier_id, method, route, target,"
                " status, request_id) VALUES (now(), 1, 'supplier', 1, 'GET', '/x', '/x', 200, 'r')"
            )
        )
    elif model is AuditLog:
        session.add(
            AuditLog(
                entity=AuditEntity.SUPPLIER,
                entity_id=1,
                field="status",
                actor="system",
                source=ChangeSource.SYSTEM,
            )
        )
    else:
        session.add(
            BulkOperation(kind=BulkKind.DATE_SHIFT, state=BulkState.APPLIED, actor="system")
        )


def test_a_supplier_sees_only_its_own_token(secured: Secured) -> None:
    seen = _all(secured.database, ApiToken, secured.scope_of(secured.supplier_a))
    assert [t.id for t in seen] == [secured.token_a[0]]


def test_a_token_lookup_sees_its_token_and_its_supplier_only(secured: Secured) -> None:
    scope = lookup_scope(digest_of(secured.token_b[1]))
    assert [t.id for t in _all(secured.database, ApiToken, scope)] == [secured.token_b[0]]
    assert [s.id for s in _all(secured.database, Supplier, scope)] == [secured.supplier_b]
    assert _all(secured.database, TaskInstance, scope) == []
    assert _all(secured.database, ApiToken, lookup_scope("0" * 64)) == []


def test_a_connection_with_no_scope_sees_no_row(secured: Secured) -> None:
    with psycopg.connect(secured.url.replace("postgresql+psycopg", "postgresql")) as connection:
        counts = {
            table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # type: ignore[index]
            for table in ("task_instances", "suppliers", "projects", "api_tokens", "jobs")
        }
    assert counts == dict.fromkeys(counts, 0)


def test_a_supplier_cannot_change_another_suppliers_rows(secured: Secured) -> None:
    a, b = secured.supplier_a, secured.supplier_b
    with scoped_as(secured.scope_of(a)), secured.database.session_scope() as session:
        moved = session.execute(
            update(TaskInstance).where(TaskInstance.supplier_id == b).values(notes="not yours")
        )
        assert moved.rowcount == 0  # type: ignore[attr-defined]
        other = session.execute(
            text("SELECT id FROM task_instances WHERE supplier_id = :b"), {"b": b}
        ).first()
        assert other is None
    with secured.database.session_scope() as session:
        target = session.scalars(
            select(TaskInstance.id).where(TaskInstance.supplier_id == b).limit(1)
        ).one()
    with (
        pytest.raises(exc.ProgrammingError, match="row-level security"),
        scoped_as(secured.scope_of(a)),
        secured.database.session_scope() as session,
    ):
        session.execute(
            text(
                "INSERT INTO task_instance_history (task_instance_id, field, new_value,"
                " changed_at, actor, source) VALUES (:i, 'NOTES', 'forged', now(), 'x', 'API')"
            ),
            {"i": target},
        )


def test_a_viewer_writes_nothing(secured: Secured) -> None:
    viewer = actor_scope("viewer", None, None)
    with scoped_as(viewer), secured.database.session_scope() as session:
        renamed = session.execute(update(Project).values(name="renamed by a viewer"))
        assert renamed.rowcount == 0  # type: ignore[attr-defined]
        assert session.scalar(select(func.count()).select_from(Project))  # it still reads


def test_one_pooled_connection_serves_two_suppliers_in_turn(secured: Secured) -> None:
    database = Database(settings_for(secured.url, database_connection_limit=1))
    database.engine.pool._max_overflow = 0  # type: ignore[attr-defined]  # one, no spare
    try:
        backends = set()
        for supplier in (secured.supplier_a, secured.supplier_b) * 2:
            with scoped_as(secured.scope_of(supplier)), database.session_scope() as session:
                backends.add(session.execute(text("SELECT pg_backend_pid()")).scalar_one())
                seen = set(session.scalars(select(TaskInstance.supplier_id)).all())
            assert seen == {supplier}
        assert len(backends) == 1
    finally:
        database.dispose()


def test_requests_of_two_suppliers_in_turn_see_only_their_own(secured: Secured) -> None:
    """Through the service: the hot reads' bare connection, and one pooled for sessions."""
    settings = settings_for(secured.url, database_connection_limit=1)
    app = create_app(settings)
    with TestClient(app) as client:
        for supplier, (_id, raw) in [
            (secured.supplier_a, secured.token_a),
            (secured.supplier_b, secured.token_b),
        ] * 2:
            headers = {"Authorization": f"Bearer {raw}"}
            for path in ("/api/task-instances?limit=200", "/api/suppliers"):
                response = client.get(path, headers=headers)
                assert response.status_code == 200, response.text
                items = response.json()["items"]
                assert items
                ids = {item.get("supplierId", item["id"]) for item in items}
                assert ids == {supplier}, path


def test_db_roles_twice_changes_nothing(secured: Secured) -> None:
    owner, app = _role_names(secured)
    admin = _admin_url(secured.url)
    plan = create_roles(admin, owner=owner, app=app)
    assert (plan.created, plan.handed_over) == ([], 0)
    result = CliRunner().invoke(
        cli, ["db", "roles", "--owner", owner, "--app", app, "--admin-url", admin]
    )
    assert result.exit_code == 0, result.output
    assert "roles created: none" in result.output
    refused = CliRunner().invoke(cli, ["db", "roles", "--owner", "Bad-Name", "--admin-url", admin])
    assert refused.exit_code == 2


def _role_names(secured: Secured) -> tuple[str, str]:
    from sqlalchemy.engine import make_url

    return make_url(secured.owner_url).username or "", make_url(secured.url).username or ""


def _admin_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    base = make_url(fixture_database.test_database_url())
    return (
        make_url(url)
        .set(username=base.username, password=base.password)
        .render_as_string(hide_password=False)
    )


def test_backup_and_restore_as_the_owner_keep_every_row(
    secured: Secured, database_factory: DatabaseFactory, tmp_path: Path
) -> None:
    made = backup(secured.owner_url, tmp_path / "rls.dump")
    assert made.tables["task_instances"]["rows"] == len(_all(secured.database, TaskInstance))
    target_url, target_owner = database_factory.with_row_security("rls_restore")
    restored = restore(target_owner, tmp_path / "rls.dump")
    assert restored.tables == made.tables
    target = Database(settings_for(target_url))
    try:  # the service's role still reads and writes, still within its scope
        everything = _all(target, TaskInstance)
        assert len(everything) == made.tables["task_instances"]["rows"]
        seen = _all(target, TaskInstance, secured.scope_of(secured.supplier_a))
        assert {i.supplier_id for i in seen} == {secured.supplier_a}
        with target.session_scope() as session:
            session.execute(update(Project).values(name=Project.name))
    finally:
        target.dispose()
