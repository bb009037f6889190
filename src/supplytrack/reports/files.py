"""Streaming exports: CSV line by line, XLSX through xlsxwriter's constant-memory mode.

Rows come from an iterator, so memory stays flat whatever the row count: the CSV is sent as
it is written; the workbook is written to a temporary file (constant memory) and streamed.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import xlsxwriter

CHUNK_ROWS = 1000


@dataclass(frozen=True, slots=True)
class Column:
    """An export column: header, how to read it from a row, and its Excel type."""

    header: str
    read: Callable[[Any], Any]
    kind: str = "text"  # text, int, float, date, datetime


def csv_stream(columns: Sequence[Column], rows: Iterable[Any]) -> Iterator[bytes]:
    """The CSV (UTF-8 with BOM, so Excel reads accents), a thousand rows per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow([column.header for column in columns])
    pending = 0
    for row in rows:
        writer.writerow([_csv_value(column.read(row)) for column in columns])
        pending += 1
        if pending >= CHUNK_ROWS:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode()


def csv_rows_stream(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """The CSV of rows whose cells are ready (formatted and formula-safe), in batches."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(headers)
    batch: list[Sequence[Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK_ROWS:
            writer.writerows(batch)
            batch.clear()
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    writer.writerows(batch)
    yield buffer.getvalue().encode()


def formula_safe(value: Any) -> Any:
    """A cell a spreadsheet will never run as a formula (text starting = + - @ gets a ')."""
    return "'" + value if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") else value


def csv_bool(flag: object) -> str:
    """A boolean as CSV writes it: TRUE or FALSE, what spreadsheets (and our XLSX) agree on."""
    return "TRUE" if flag else "FALSE"


def _csv_value(value: Any) -> Any:
    if isinstance(value, bool):
        return csv_bool(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return formula_safe(value)


def xlsx_file(columns: Sequence[Column], rows: Iterable[Any], sheet: str) -> str:
    """Write the workbook to a temporary file (constant memory); returns its path."""
    handle, path = tempfile.mkstemp(suffix=".xlsx", prefix="supplytrack-")
    os.close(handle)
    book = xlsxwriter.Workbook(path, {"constant_memory": True, "remove_timezone": True})
    header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    formats = {
        "date": book.add_format({"num_format": "yyyy-mm-dd"}),
        "datetime": book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
        "float": book.add_format({"num_format": "0.00"}),
    }
    worksheet = book.add_worksheet(sheet[:31])
    worksheet.freeze_panes(1, 1)
    for index, column in enumerate(columns):
        worksheet.write_string(0, index, column.header, header)
        worksheet.set_column(index, index, max(10, len(column.header) + 2))
    for number, row in enumerate(rows, start=1):
        for index, column in enumerate(columns):
            _write(worksheet, number, index, column, column.read(row), formats)
    book.close()
    return path


def _write(
    worksheet: Any, row: int, col: int, column: Column, value: Any, formats: dict[str, Any]
) -> None:
    if value is None:
        return
    if column.kind in ("int", "float"):
        worksheet.write_number(row, col, value, formats.get(column.kind))
    elif column.kind == "date":
        worksheet.write_datetime(
            row, col, datetime.combine(value, datetime.min.time()), formats["date"]
        )
    elif column.kind == "datetime":
        worksheet.write_datetime(row, col, value, formats["datetime"])
    else:
        worksheet.write_string(row, col, str(value))


def file_stream(path: str, chunk: int = 1 << 16) -> Iterator[bytes]:
    """Stream a file and delete it afterwards."""
    try:
        with open(path, "rb") as handle:
            while data := handle.read(chunk):
                yield data
    finally:
        os.unlink(path)
