"""row-level security on PostgreSQL

Every table but alembic_version gets ROW LEVEL SECURITY, FORCEd (the owner is held to the
policies too), with policies keyed on the settings each transaction sets
(core/rowsecurity.py): ``supplytrack.role`` (admin, manager, viewer, supplier, system,
anonymous), ``supplytrack.supplier_id``, ``supplytrack.token_id`` and ``supplytrack.token``.

- Staff (admin, manager, viewer) and the system read every row; admin, manager and the
  system write. Viewers write nothing but their own token's last use.
- A supplier reads its own supplier row, capabilities, assignments, instances and their
  history, and the projects (with their milestones, dependencies and calendars) it is
  assigned to; it updates its own instances and adds history to them; nothing else.
- Before a request's token is known (anonymous), nothing is visible but the token of the
  digest in ``supplytrack.token`` and that token's supplier (for its status).
- With no role set, nothing is visible.

SQLite has no row-level security: this revision does nothing there. The downgrade drops the
policies and turns row-level security off again (no data changes either way).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 22:00:00
"""

# ruff: noqa: S608 - the policies are DDL built from this module's own constants only

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The settings, read once per statement (a sub-select becomes an init plan, not a per-row call).
ROLE = "(SELECT supplytrack_role())"
SUPPLIER = "(SELECT supplytrack_supplier())"
STAFF_READ = f"{ROLE} IN ('admin', 'manager', 'viewer', 'system')"
STAFF_WRITE = f"{ROLE} IN ('admin', 'manager', 'system')"
IS_SUPPLIER = f"{ROLE} = 'supplier'"


def _assigned(project_column: str) -> str:
    return (
        f"{IS_SUPPLIER} AND EXISTS (SELECT 1 FROM supplier_projects sp"
        f" WHERE sp.project_id = {project_column} AND sp.supplier_id = {SUPPLIER})"
    )


_OWN_INSTANCE = (
    f"{IS_SUPPLIER} AND EXISTS (SELECT 1 FROM task_instances i"
    f" WHERE i.id = task_instance_history.task_instance_id AND i.supplier_id = {SUPPLIER})"
)
_OWN_TOKEN = "token_id = (SELECT supplytrack_token_id())"  # noqa: S105 - SQL, no secret

# table: [(policy, command, USING, WITH CHECK)] beyond staff_read and staff_write.
_SUPPLIER_POLICIES: dict[str, list[tuple[str, str, str | None, str | None]]] = {
    "suppliers": [
        ("supplier_own", "SELECT", f"{IS_SUPPLIER} AND id = {SUPPLIER}", None),
        (
            "token_holder",
            "SELECT",
            f"{ROLE} = 'anonymous' AND id = (SELECT t.supplier_id FROM api_tokens t"
            " WHERE t.digest = (SELECT supplytrack_token()))",
            None,
        ),
    ],
    "supplier_capabilities": [
        ("supplier_own", "SELECT", f"{IS_SUPPLIER} AND supplier_id = {SUPPLIER}", None),
    ],
    "supplier_projects": [
        ("supplier_own", "SELECT", f"{IS_SUPPLIER} AND supplier_id = {SUPPLIER}", None),
    ],
    "projects": [("supplier_assigned", "SELECT", _assigned("projects.id"), None)],
    "task_templates": [
        ("supplier_assigned", "SELECT", _assigned("task_templates.project_id"), None)
    ],
    "task_template_dependencies": [
        (
            "supplier_assigned",
            "SELECT",
            _assigned("task_template_dependencies.project_id"),
            None,
        )
    ],
    "project_calendars": [
        ("supplier_assigned", "SELECT", _assigned("project_calendars.project_id"), None)
    ],
    "project_holidays": [
        ("supplier_assigned", "SELECT", _assigned("project_holidays.project_id"), None)
    ],
    "task_instances": [
        ("supplier_own", "SELECT", f"{IS_SUPPLIER} AND supplier_id = {SUPPLIER}", None),
        (
            "supplier_moves",
            "UPDATE",
            f"{IS_SUPPLIER} AND supplier_id = {SUPPLIER}",
            f"{IS_SUPPLIER} AND supplier_id = {SUPPLIER}",
        ),
    ],
    "task_instance_history": [
        ("supplier_own", "SELECT", _OWN_INSTANCE, None),
        ("supplier_records", "INSERT", None, _OWN_INSTANCE),
    ],
    "api_tokens": [
        ("own_token", "SELECT", "id = (SELECT supplytrack_token_id())", None),
        (
            "token_holder",
            "SELECT",
            f"{ROLE} = 'anonymous' AND digest = (SELECT supplytrack_token())",
            None,
        ),
    ],
    "api_token_usage": [
        (
            "own_usage",
            "ALL",
            f"{ROLE} IN ('manager', 'viewer', 'supplier') AND {_OWN_TOKEN}",
            f"{ROLE} IN ('manager', 'viewer', 'supplier') AND {_OWN_TOKEN}",
        ),
    ],
}
# Tables only staff (and the system) see.
_STAFF_ONLY = ("audit_log", "access_log", "bulk_operations", "idempotency_keys", "jobs")
# Who writes: tokens are the admin's alone.
_WRITERS = {
    "api_tokens": f"{ROLE} IN ('admin', 'system')",
    "api_token_usage": f"{ROLE} IN ('admin', 'system')",
}
_READERS = {"api_token_usage": f"{ROLE} IN ('admin', 'system')"}
TABLES = (*_SUPPLIER_POLICIES, *_STAFF_ONLY)

_FUNCTIONS = {
    "supplytrack_role": ("text", "current_setting('supplytrack.role', true)"),
    "supplytrack_supplier": (
        "integer",
        "nullif(current_setting('supplytrack.supplier_id', true), '')::integer",
    ),
    "supplytrack_token_id": (
        "integer",
        "nullif(current_setting('supplytrack.token_id', true), '')::integer",
    ),
    "supplytrack_token": ("text", "current_setting('supplytrack.token', true)"),
}


def _policies(table: str) -> list[str]:
    reads = _READERS.get(table, STAFF_READ)
    writes = _WRITERS.get(table, STAFF_WRITE)
    statements = [
        f"CREATE POLICY staff_read ON {table} FOR SELECT USING ({reads})",
        f"CREATE POLICY staff_write ON {table} FOR ALL USING ({writes}) WITH CHECK ({writes})",
    ]
    for name, command, using, check in _SUPPLIER_POLICIES.get(table, []):
        clause = f"CREATE POLICY {name} ON {table} FOR {command}"
        if using is not None:
            clause += f" USING ({using})"
        if check is not None:
            clause += f" WITH CHECK ({check})"
        statements.append(clause)
    return statements


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for name, (returns, body) in _FUNCTIONS.items():
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS {returns} LANGUAGE sql STABLE PARALLEL SAFE"
            f" AS $$ SELECT {body} $$"
        )
    for table in TABLES:
        for statement in _policies(table):
            op.execute(statement)
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
        op.execute(f"DROP POLICY staff_read ON {table}")
        op.execute(f"DROP POLICY staff_write ON {table}")
        for name, *_ in _SUPPLIER_POLICIES.get(table, []):
            op.execute(f"DROP POLICY {name} ON {table}")
    for name in _FUNCTIONS:
        op.execute(f"DROP FUNCTION {name}()")
