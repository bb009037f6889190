"""Keyset pagination with opaque cursors, and the sort orders lists accept."""

from __future__ import annotations

import base64
import binascii
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import tuple_

from supplytrack.core.db import AnySelect
from supplytrack.core.errors import BadRequest

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Sort:
    """A sort order: an API field name, its column, the id tie-breaker, and direction."""

    name: str
    column: Any  # a mapped attribute or column expression
    id_column: Any
    descending: bool

    @property
    def same_as_id(self) -> bool:
        """Whether the sort column is the id itself (no tie-breaker needed)."""
        return self.column is self.id_column


def parse_sort(value: str, columns: Mapping[str, Any], id_column: Any) -> Sort:
    """Turn ``field`` or ``-field`` into a :class:`Sort`, refusing unknown fields."""
    descending = value.startswith("-")
    name = value.removeprefix("-")
    if name not in columns:
        allowed = ", ".join(sorted(columns))
        raise BadRequest(
            f"cannot sort by {name!r}; sort by one of: {allowed} (prefix '-' for descending)",
            code="INVALID_SORT",
        )
    return Sort(name, columns[name], id_column, descending)


def _encode_value(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


# Keys beyond a 32-bit integer can name nothing (and must not reach the driver).
_INT_LIMIT = 2**31 - 1


def _is_int(raw: Any) -> bool:
    return isinstance(raw, int) and not isinstance(raw, bool) and abs(raw) <= _INT_LIMIT


def _decode_value(raw: Any, python_type: type[Any]) -> Any:
    if python_type is datetime:
        return datetime.fromisoformat(raw)
    if python_type is date:
        return date.fromisoformat(raw)
    if python_type is int:
        if not _is_int(raw):
            raise TypeError
        return raw
    if isinstance(python_type, type) and issubclass(python_type, enum.Enum):
        return python_type(raw)  # ValueError for a value the column cannot hold
    if not isinstance(raw, str):
        raise TypeError
    return raw


def encode_cursor(sort: Sort, row_key: Any, row_id: int) -> str:
    """Make the opaque cursor that resumes after the row with this sort key and id."""
    payload = orjson.dumps([sort.name, sort.descending, _encode_value(row_key), row_id])
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(cursor: str, sort: Sort) -> tuple[Any, int]:
    """The (sort key, id) a keyset cursor resumes after (400 when it is not one of ours)."""
    invalid = BadRequest("cursor is not valid for this list and sort", code="INVALID_CURSOR")
    if len(cursor) > 1000:
        raise invalid
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        name, descending, raw_key, row_id = orjson.loads(base64.urlsafe_b64decode(padded))
        if name != sort.name or descending != sort.descending:
            raise invalid
        key = _decode_value(raw_key, sort.column.type.python_type)
        if not _is_int(row_id):
            raise invalid
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise invalid from exc
    return key, row_id


def apply_keyset(stmt: AnySelect, sort: Sort, cursor: str | None, limit: int) -> AnySelect:
    """Order ``stmt`` by the sort, start after the cursor, and fetch one row more than a page."""
    if sort.same_as_id:
        order = [sort.id_column.desc() if sort.descending else sort.id_column.asc()]
    elif sort.descending:
        order = [sort.column.desc(), sort.id_column.desc()]
    else:
        order = [sort.column.asc(), sort.id_column.asc()]
    if cursor is not None:
        key, row_id = decode_cursor(cursor, sort)
        if sort.same_as_id:
            condition = sort.id_column < row_id if sort.descending else sort.id_column > row_id
        else:
            left = tuple_(sort.column, sort.id_column)
            right = tuple_(key, row_id)
            condition = left < right if sort.descending else left > right
        stmt = stmt.where(condition)
    return stmt.order_by(*order).limit(limit + 1)


def page_of(rows: Sequence[Any], sort: Sort, limit: int) -> tuple[list[Any], str | None]:
    """Cut the extra row off and make the next cursor from the last row kept.

    Rows are ORM objects or result rows with attributes named like the sort column's key.
    """
    items = list(rows[:limit])
    if len(rows) <= limit or not items:
        return items, None
    last = items[-1]
    key = getattr(last, str(sort.column.key))
    return items, encode_cursor(sort, key, getattr(last, str(sort.id_column.key)))


def encode_id_cursor(last_id: int) -> str:
    """Cursor of a list ordered by id alone."""
    return base64.urlsafe_b64encode(orjson.dumps(["id", last_id])).decode().rstrip("=")


def decode_id_cursor(cursor: str | None) -> int | None:
    """The id after which a list ordered by id resumes (400 on a bad cursor)."""
    if cursor is None:
        return None
    invalid = BadRequest("cursor is not valid for this list", code="INVALID_CURSOR")
    try:
        name, last_id = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise invalid from exc
    if name != "id" or not _is_int(last_id):
        raise invalid
    return int(last_id)


def encode_offset(offset: int) -> str:
    """Cursor of a computed list (a report), paged by position."""
    return base64.urlsafe_b64encode(orjson.dumps(["offset", offset])).decode().rstrip("=")


def decode_offset(cursor: str | None) -> int:
    """The position a report page starts at (400 on a bad cursor)."""
    if cursor is None:
        return 0
    invalid = BadRequest("cursor is not valid for this report", code="INVALID_CURSOR")
    try:
        name, offset = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise invalid from exc
    if name != "offset" or not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise invalid
    return offset
