"""The only SQL that differs between SQLite and PostgreSQL in the demo load."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, text

# Tables whose ids the load writes itself; PostgreSQL's sequences must then be moved past them.
SERIAL_TABLES = (
    "projects",
    "suppliers",
    "supplier_projects",
    "task_templates",
    "task_instances",
    "task_instance_history",
)


_SECONDARY_INDEXES = text(
    "SELECT t.relname, i.relname, pg_get_indexdef(i.oid) FROM pg_index x"
    " JOIN pg_class i ON i.oid = x.indexrelid"
    " JOIN pg_class t ON t.oid = x.indrelid"
    " JOIN pg_namespace n ON n.oid = t.relnamespace"
    " WHERE t.relname = ANY(:tables) AND n.nspname = current_schema()"
    " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)"
    # Kept: the history's chain trigger finds each row's predecessor through it (0012).
    " AND i.relname <> 'ix_task_instance_history_task_instance_id_id'"
    " ORDER BY t.relname, i.relname"
)
_FOREIGN_KEYS = text(
    "SELECT t.relname, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c"
    " JOIN pg_class t ON t.oid = c.conrelid"
    " JOIN pg_namespace n ON n.oid = t.relnamespace"
    " WHERE c.contype = 'f' AND t.relname = ANY(:tables) AND n.nspname = current_schema()"
    " ORDER BY t.relname, c.conname"
)


@dataclass(slots=True)
class Dialect:
    """SQL fragments for day numbers and epoch seconds, and the steps around a bulk load.

    The load does its date arithmetic on integers (days and seconds since 1970-01-01), which
    both engines compute identically, and converts only when it writes a column.
    """

    name: str
    undo: list[str] = field(default_factory=list)  # what restore() runs

    @property
    def is_sqlite(self) -> bool:
        """Whether this is SQLite."""
        return self.name == "sqlite"

    @property
    def least(self) -> str:
        """The two-argument minimum function."""
        return "min" if self.is_sqlite else "LEAST"

    @property
    def greatest(self) -> str:
        """The two-argument maximum function."""
        return "max" if self.is_sqlite else "GREATEST"

    def day(self, days: str) -> str:
        """A DATE column value from days since 1970-01-01."""
        if self.is_sqlite:
            return f"date(({days}) * 86400, 'unixepoch')"
        return f"(DATE '1970-01-01' + CAST({days} AS INTEGER))"

    def iso_day(self, days: str) -> str:
        """The ISO text ``YYYY-MM-DD`` of days since 1970-01-01 (as the audit trail writes)."""
        if self.is_sqlite:
            return self.day(days)
        return f"to_char({self.day(days)}, 'YYYY-MM-DD')"

    def instant(self, seconds: str) -> str:
        """A naive-UTC timestamp column value from seconds since 1970-01-01 UTC.

        On SQLite it is the text SQLAlchemy itself writes (microseconds included), so that
        rows of the load and of the API sort and compare alike.
        """
        if self.is_sqlite:
            return f"(datetime({seconds}, 'unixepoch') || '.000000')"
        return f"(TIMESTAMP '1970-01-01 00:00:00' + ({seconds}) * INTERVAL '1 second')"

    def clear(self, connection: Connection, table: str) -> None:
        """Empty a temporary table (TRUNCATE leaves PostgreSQL no dead rows to skip)."""
        verb = "DELETE FROM" if self.is_sqlite else "TRUNCATE"
        connection.exec_driver_sql(f"{verb} {table}")

    def prepare(self, connection: Connection) -> None:
        """Tune this connection for one big write."""
        if self.is_sqlite:
            # The default 2 MB page cache thrashes on the six indexes of task_instances;
            # 256 MB is a bound, whatever the scale.
            previous = connection.exec_driver_sql("PRAGMA cache_size").scalar()
            self.undo.append(f"PRAGMA cache_size={int(previous or -2000)}")
            connection.exec_driver_sql("PRAGMA cache_size=-262144")
        else:
            # In-memory sorts for the window functions, fast index builds at the end.
            connection.exec_driver_sql("SET LOCAL work_mem = '64MB'")
            connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")

    def analyze(self, connection: Connection, tables: list[str]) -> None:
        """Give PostgreSQL's planner statistics of tables filled in this transaction.

        Without them it checks each foreign key of the bulk insert about twice as slowly.
        SQLite plans the same either way.
        """
        if not self.is_sqlite:
            connection.exec_driver_sql("ANALYZE " + ", ".join(tables))

    def suspend_checks(self, connection: Connection, tables: tuple[str, ...]) -> list[str]:
        """Drop the foreign keys and secondary indexes of ``tables``; return the DDL to redo.

        PostgreSQL checks a foreign key row by row, and maintains an index row by row, several
        times slower than it validates the key in one join or builds the index in one sort
        (its manual's advice for bulk loads). The DDL is the database's own, so everything
        comes back exactly as the migrations made it; every row is validated when the keys
        come back, in the same transaction; and a failed load rolls the drops back too.
        SQLite checks and indexes cheaply as it goes: there nothing is dropped.
        """
        if self.is_sqlite:
            return []
        indexes = connection.execute(_SECONDARY_INDEXES, {"tables": list(tables)}).all()
        foreign_keys = connection.execute(_FOREIGN_KEYS, {"tables": list(tables)}).all()
        for table, name, _ddl in foreign_keys:
            connection.exec_driver_sql(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        for _table, name, _ddl in indexes:
            connection.exec_driver_sql(f'DROP INDEX "{name}"')
        return [ddl for _table, _name, ddl in indexes] + [
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {ddl}'
            for table, name, ddl in foreign_keys
        ]

    @staticmethod
    def resume_checks(connection: Connection, statements: list[str]) -> None:
        """Recreate what suspend_checks() dropped: indexes first, then the foreign keys."""
        for statement in statements:
            connection.exec_driver_sql(statement)

    def restore(self, connection: Connection) -> None:
        """Undo prepare() (PostgreSQL's SET LOCAL ends with the transaction by itself)."""
        while self.undo:
            connection.exec_driver_sql(self.undo.pop())

    def finish(self, connection: Connection) -> None:
        """Move sequences past the ids written and refresh the planner's statistics."""
        if self.is_sqlite:
            connection.exec_driver_sql("ANALYZE")
            return
        for table in SERIAL_TABLES:
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608  # nosec B608
                    f"COALESCE(MAX(id), 0) + 1, false) FROM {table}"
                )
            )
        connection.exec_driver_sql("ANALYZE")
