"""The temporary tables the set-based SQL reads the plan from, and the statements per chunk."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    text,
)

from supplytrack.audit.models import HistoryField
from supplytrack.demo import sql
from supplytrack.demo import vocabulary as words
from supplytrack.demo.dataset import Chunk, DemoPlan
from supplytrack.demo.dialect import Dialect
from supplytrack.demo.plan import day_number, epoch
from supplytrack.tasks.enums import DONE_STATUSES, TaskStatus

_temp = MetaData()


def _table(name: str, *columns: Column[Any]) -> Table:
    return Table(name, _temp, *columns, prefixes=["TEMPORARY"])


def _int(name: str, *, key: bool = False) -> Column[Any]:
    return Column(name, BigInteger, primary_key=key, autoincrement=False)


TEMPLATE_PLAN = _table(
    "demo_template_plan",
    _int("template_id", key=True),
    _int("project_id"),
    _int("sequence"),
    _int("due_dn"),
    _int("slack_before"),
    _int("slack_after"),
    _int("review_days"),
    Column("capability", String(64)),
    _int("noise"),
)
Index("ix_demo_template_plan_project", TEMPLATE_PLAN.c.project_id, TEMPLATE_PLAN.c.sequence)
ASSIGNMENT_PLAN = _table(
    "demo_assignment_plan",
    _int("sp_id", key=True),
    _int("project_id"),
    _int("supplier_id"),
    _int("pace"),
    _int("asof_dn"),
    _int("asof_s"),
    _int("created_s"),
    _int("noise"),
)
PATH = _table(
    "demo_path",
    Column("status", String(16), primary_key=True),
    _int("bucket", key=True),
    _int("n_steps"),
    _int("submit_step"),
)
STEP = _table(
    "demo_step",
    Column("status", String(16), primary_key=True),
    _int("bucket", key=True),
    _int("step", key=True),
    Column("field", String(16)),
    Column("old_value", String(16)),
    Column("new_value", String(16)),
    Column("reason", Text),
)
# One chunk's instances with everything their rows and history are made of (see sql.py).
STORY = _table(
    "demo_story",
    # INTEGER on SQLite makes it the rowid: rows come back in id order without a sort.
    Column(
        "instance_id",
        BigInteger().with_variant(Integer(), "sqlite"),
        primary_key=True,
        autoincrement=False,
    ),
    *(_int(name) for name in sql.STORY_COLUMNS if name not in {"instance_id", "status"}),
    Column("status", String(16)),
)
REASON = _table(
    "demo_reason",
    Column("kind", String(16), primary_key=True),
    _int("n", key=True),
    Column("reason", Text),
    Column("reason_code", String(32)),
)

PLAN_TABLES = [table.name for table in _temp.sorted_tables]


def create_plan_tables(connection: Connection, plan: DemoPlan) -> None:
    """Create and fill the temporary tables the SQL reads the plan from."""
    _temp.create_all(connection, checkfirst=False)
    connection.execute(insert(TEMPLATE_PLAN), _template_rows(plan))
    connection.execute(insert(ASSIGNMENT_PLAN), _assignment_rows(plan))
    paths, steps = _path_rows()
    connection.execute(insert(PATH), paths)
    connection.execute(insert(STEP), steps)
    connection.execute(
        insert(REASON),
        [
            {"kind": kind, "n": n, "reason": reason, "reason_code": code}
            for kind, reasons, codes in (
                ("LATER", words.MOVE_LATER_REASONS, words.MOVE_LATER_CODES),
                ("EARLIER", words.MOVE_EARLIER_REASONS, words.MOVE_EARLIER_CODES),
            )
            for n, (reason, code) in enumerate(zip(reasons, codes, strict=True))
        ],
    )


def drop_plan_tables(connection: Connection) -> None:
    """Drop the temporary tables (they would otherwise live as long as the connection)."""
    _temp.drop_all(connection, checkfirst=False)


def _template_rows(plan: DemoPlan) -> list[dict[str, object]]:
    return [
        {
            "template_id": template.id,
            "project_id": template.project_id,
            "sequence": template.sequence,
            "due_dn": day_number(template.planned.due),
            "slack_before": template.planned.slack_before,
            "slack_after": template.planned.slack_after,
            "review_days": template.planned.review_days,
            "capability": template.planned.milestone.capability,
            "noise": template.noise,
        }
        for template in plan.templates
    ]


def _assignment_rows(plan: DemoPlan) -> list[dict[str, object]]:
    return [
        {
            "sp_id": assignment.id,
            "project_id": assignment.project_id,
            "supplier_id": assignment.supplier_id,
            "pace": assignment.pace,
            "asof_dn": day_number(assignment.as_of_day),
            "asof_s": epoch(assignment.as_of),
            "created_s": epoch(assignment.assigned_at),
            "noise": assignment.noise,
        }
        for assignment in plan.assignments
    ]


def _path_rows() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Each (status, bucket) gets one path; its steps carry the reasons the machine wants."""
    paths: list[dict[str, object]] = []
    steps: list[dict[str, object]] = []
    for status, choices in words.PATHS.items():
        buckets = [path for weight, path in choices for _ in range(weight)]
        assert len(buckets) == words.PATH_BUCKETS, status
        for bucket, path in enumerate(buckets):
            submit = path.index(TaskStatus.SUBMITTED) + 1 if TaskStatus.SUBMITTED in path else 0
            paths.append(
                {"status": status, "bucket": bucket, "n_steps": len(path), "submit_step": submit}
            )
            steps.extend(_steps(status, bucket, path))
    return paths, steps


def _steps(
    status: TaskStatus, bucket: int, path: tuple[TaskStatus, ...]
) -> list[dict[str, object]]:
    """The steps of one path, each status move with the reason the status machine wants.

    Step 0 stands for a due-date move; its values and reason come from the story.
    """
    key = {"status": status, "bucket": bucket}
    steps: list[dict[str, object]] = [
        {**key, "step": 0, "field": HistoryField.ACTUAL_DUE, "old_value": None,
         "new_value": None, "reason": None}
    ]  # fmt: skip
    old = TaskStatus.NOT_STARTED
    for step, new in enumerate(path, start=1):
        steps.append(
            {**key, "step": step, "field": HistoryField.STATUS, "old_value": old.value,
             "new_value": new.value, "reason": _reason(old, new, bucket + step)}
        )  # fmt: skip
        old = new
    return steps


def _reason(old: TaskStatus, new: TaskStatus, pick: int) -> str | None:
    """The reason the status machine requires for this move (None where it wants none)."""
    if old in DONE_STATUSES:
        reasons = words.REOPEN_REASONS
    else:
        reasons = {
            TaskStatus.REJECTED: words.REJECT_REASONS,
            TaskStatus.BLOCKED: words.BLOCK_REASONS,
            TaskStatus.WAIVED: words.WAIVE_REASONS,
        }.get(new, ())
    return reasons[pick % len(reasons)] if reasons else None


class BulkStatements:
    """The INSERT ... SELECT statements of one chunk, written for one dialect.

    A chunk's stories are computed once into ``demo_story``; the instances and their history
    are then both read from there.
    """

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.stage_stories = text(sql.stage_stories(dialect))
        self.instances = text(sql.insert_instances(dialect))
        self.history = text(sql.insert_history(dialect))

    def stage(self, connection: Connection, chunk: Chunk, first_history_id: int) -> int:
        """Replace the staged stories by the chunk's; returns how many.

        Their history gets the ids from ``first_history_id`` on.
        """
        self.dialect.clear(connection, STORY.name)
        params = {
            "first_sp": chunk.first_assignment_id,
            "last_sp": chunk.last_assignment_id,
            "first_id": chunk.first_instance_id,
            "first_history_id": first_history_id,
        }
        return int(connection.execute(self.stage_stories, params).rowcount)

    def insert_instances(self, connection: Connection) -> int:
        """Insert the staged instances; returns how many."""
        return int(connection.execute(self.instances).rowcount)

    def insert_history(self, connection: Connection) -> int:
        """Insert the staged instances' history; returns how many rows."""
        return int(connection.execute(self.history).rowcount)
