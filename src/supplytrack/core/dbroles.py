"""The two PostgreSQL roles of a deployment with row-level security (`supplytrack db roles`).

- The owner owns every table, sequence, type and function and runs the migrations, backups
  and restores (DATABASE_MIGRATION_URL). It is no superuser and has no BYPASSRLS: FORCE ROW
  LEVEL SECURITY holds it to the policies too (it works as the ``system`` scope).
- The service's role owns nothing, is no superuser, has no BYPASSRLS and may not create
  anything: it reads and writes rows, each transaction within its scope
  (core/rowsecurity.py). DATABASE_URL connects as it.

Run by a DBA (a superuser, or a role with CREATEROLE that is a member of the owner) against
the service's database, before or after `db upgrade`; running it again changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class RoleError(ValueError):
    """A role name the command refuses, or a database that is not PostgreSQL."""


@dataclass(frozen=True)
class RolePlan:
    """What `db roles` did: the two roles and the objects handed to the owner."""

    owner: str
    app: str
    created: list[str]
    handed_over: int


def _checked(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise RoleError(f"role name {name!r}: lower-case letters, digits and _ only")
    return f'"{name}"'


def _ensure_role(connection: Connection, name: str, password: str | None) -> bool:
    """Create the login role ``name`` unless it exists; whether it was created.

    Either way it is stripped of the privileges that would bypass the policies.
    """
    quoted = _checked(name)
    exists = connection.execute(
        text("SELECT 1 FROM pg_roles WHERE rolname = :name"), {"name": name}
    ).first()
    attributes = "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION"
    # nosemgrep: sql-built-from-strings - a checked, quoted role name and fixed attributes
    connection.exec_driver_sql(f"{'ALTER' if exists else 'CREATE'} ROLE {quoted} {attributes}")
    if password is not None:
        # The password travels as a parameter, quoted by the server (format %L).
        statement = connection.execute(
            text("SELECT format('ALTER ROLE %I PASSWORD %L', :name, :password)"),
            {"name": name, "password": password},
        ).scalar_one()
        connection.exec_driver_sql(statement)
    return exists is None


# Everything in the schema that belongs to someone else than the owner (tables with their
# sequences, free sequences, views, types and functions of the application).
_OWNED = """
SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
       format('%I.%I', n.nspname, c.relname) FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = :schema AND c.relkind IN ('r', 'p', 'v', 'm')
   AND pg_get_userbyid(c.relowner) <> :owner
UNION ALL
SELECT 'SEQUENCE', format('%I.%I', n.nspname, c.relname) FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = :schema AND c.relkind = 'S' AND pg_get_userbyid(c.relowner) <> :owner
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))
UNION ALL
SELECT 'TYPE', format('%I.%I', n.nspname, t.typname) FROM pg_type t
  JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE n.nspname = :schema AND t.typtype IN ('e', 'd', 'c') AND t.typrelid = 0
   AND pg_get_userbyid(t.typowner) <> :owner
UNION ALL
SELECT 'FUNCTION',
       format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = :schema AND pg_get_userbyid(p.proowner) <> :owner
"""


def create_roles(
    admin_url: str,
    *,
    owner: str,
    app: str,
    owner_password: str | None = None,
    app_password: str | None = None,
    schema: str = "public",
) -> RolePlan:
    """Create (or correct) the two roles on the database of ``admin_url``.

    The schema's objects are handed to the owner; the service's role is granted the rows,
    nothing more.
    """
    if not admin_url.startswith("postgresql"):
        raise RoleError("roles are for PostgreSQL: SQLite has no users")
    if owner == app:
        raise RoleError("the owner and the service's role must be two roles")
    owner_q, app_q, schema_q = _checked(owner), _checked(app), _checked(schema)
    database = make_url(admin_url).database or "postgres"
    engine = create_engine(admin_url)
    created: list[str] = []
    try:
        with engine.begin() as connection:
            for name, password in ((owner, owner_password), (app, app_password)):
                if _ensure_role(connection, name, password):
                    created.append(name)
            owned = connection.execute(text(_OWNED), {"schema": schema, "owner": owner}).all()
            for kind, qualified in owned:
                # nosemgrep: sql-built-from-strings - names quoted by the server (format %I)
                connection.exec_driver_sql(f"ALTER {kind} {qualified} OWNER TO {owner_q}")
            for statement in (
                f'GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO {owner_q}, {app_q}',
                f"GRANT USAGE, CREATE ON SCHEMA {schema_q} TO {owner_q}",
                f"GRANT USAGE ON SCHEMA {schema_q} TO {app_q}",
                f"REVOKE CREATE ON SCHEMA {schema_q} FROM {app_q}",
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema_q}"
                f" TO {app_q}",
                f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema_q} TO {app_q}",
                f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {schema_q} TO {app_q}",
                # What later migrations create (as the owner) is granted alike.
                f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner_q} IN SCHEMA {schema_q}"
                f" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app_q}",
                f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner_q} IN SCHEMA {schema_q}"
                f" GRANT USAGE, SELECT ON SEQUENCES TO {app_q}",
                f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner_q} IN SCHEMA {schema_q}"
                f" GRANT EXECUTE ON FUNCTIONS TO {app_q}",
            ):
                # nosemgrep: sql-built-from-strings - checked, quoted names only
                connection.exec_driver_sql(statement)
    finally:
        engine.dispose()
    return RolePlan(owner, app, created, len(owned))


def role_url(url: str, role: str, password: str | None = None) -> str:
    """``url`` with another user (and password) in it."""
    return make_url(url).set(username=role, password=password).render_as_string(hide_password=False)
