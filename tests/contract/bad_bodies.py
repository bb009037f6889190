"""Bad request bodies: malformed JSON, wrong types, unknown fields, sizes, lengths, dates."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from tests.contract.bad_cases import (
    ASSIGN_A,
    BIG,
    BULK_STATUS,
    CALENDAR_A,
    DATES_A,
    INSTANCE_A,
    JSON,
    MIB,
    PROJECT,
    PROJECT_A,
    SHIFT,
    SUPPLIER,
    SUPPLIER_A,
    TEMPLATE,
    TEMPLATE_A,
    TEMPLATES_A,
    WRITES,
    Bad,
    Ref,
    with_,
)


def _malformed() -> Iterator[Any]:
    bodies = {
        "truncated": b'{"name": ',
        "single quotes": b"{'name': 'x'}",
        "trailing comma": b'{"name": "x",}',
        "not json": b"name=x",
        "invalid utf-8": b'{"name": "\xff\xfe"}',
    }
    for route, (method, path, _body) in WRITES.items():
        for label, content in bodies.items():
            yield pytest.param(
                Bad(method, path, 400, "MALFORMED_JSON", content=content, headers=JSON),
                id=f"malformed {label}: {route}",
            )


def _wrong_types() -> Iterator[Any]:
    cases: dict[str, tuple[str, str, Any]] = {
        "number for a string": ("POST", "/api/projects", with_(PROJECT, code=12345)),
        "true for a string": ("POST", "/api/projects", with_(PROJECT, name=True)),
        "list for a string": ("POST", "/api/suppliers", with_(SUPPLIER, name=["x"])),
        "number for a date": ("POST", "/api/projects", with_(PROJECT, startDate=20260101)),
        "number for an enum": ("POST", "/api/projects", with_(PROJECT, status=1)),
        "unknown enum": ("POST", "/api/projects", with_(PROJECT, status="DONE")),
        "lower-case enum": ("PATCH", INSTANCE_A, {"status": "in_progress"}),
        "string for an int": ("POST", TEMPLATES_A, with_(TEMPLATE, sequence="5")),
        "float for an int": ("POST", TEMPLATES_A, with_(TEMPLATE, sequence=1.5)),
        "whole float for an int": ("POST", TEMPLATES_A, with_(TEMPLATE, sequence=5.0)),
        "true for an int": ("POST", TEMPLATES_A, with_(TEMPLATE, sequence=True)),
        "'5' for an id": ("POST", ASSIGN_A, {"supplierId": "5"}),
        "true for an id": ("POST", ASSIGN_A, {"supplierId": True}),
        "float for an id": ("POST", ASSIGN_A, {"supplierId": 5.0}),
        "'5' for an instance id": (
            "POST",
            "/api/task-instances",
            {"supplierProjectId": "1", "taskTemplateId": 1},
        ),
        "'5' in dependsOn": ("POST", TEMPLATES_A, with_(TEMPLATE, dependsOn=["5"])),
        "int for dependsOn": ("POST", TEMPLATES_A, with_(TEMPLATE, dependsOn=5)),
        "string for capabilities": (
            "POST",
            "/api/suppliers",
            with_(SUPPLIER, capabilities="machining"),
        ),
        "number for notes": ("PATCH", INSTANCE_A, {"notes": 5}),
        "number for actualDue": ("PATCH", INSTANCE_A, {"actualDue": 20270101}),
        "object for status": ("PATCH", INSTANCE_A, {"status": {"to": "IN_PROGRESS"}}),
        "null status": ("PATCH", INSTANCE_A, {"status": None}),
        "null name": ("PATCH", PROJECT_A, {"name": None}),
        "empty patch": ("PATCH", INSTANCE_A, {}),
        "reason alone": ("PATCH", INSTANCE_A, {"reason": "why"}),
        "empty name": ("POST", "/api/projects", with_(PROJECT, name="")),
        "blank name": ("POST", "/api/projects", with_(PROJECT, name="   ")),
        "bad code pattern": ("POST", "/api/projects", with_(PROJECT, code="a b;--")),
        "bad email": ("POST", "/api/suppliers", with_(SUPPLIER, contactEmail="not-an-email")),
        "bad capability": ("POST", "/api/suppliers", with_(SUPPLIER, capabilities=["Machining!"])),
        "unknown role": ("POST", "/api/tokens", {"name": "x", "role": "root"}),
        "'5' for a token's supplier": (
            "POST",
            "/api/tokens",
            {"name": "x", "role": "supplier", "supplierId": "5"},
        ),
        "true for a token's supplier": (
            "POST",
            "/api/tokens",
            {"name": "x", "role": "supplier", "supplierId": True},
        ),
        "json array body": ("POST", "/api/projects", [PROJECT]),
        "json string body": ("POST", "/api/projects", "code"),
        "'5' in bulk ids": ("POST", BULK_STATUS, {"ids": ["5"], "status": "IN_PROGRESS"}),
        "ids and filter": (
            "POST",
            BULK_STATUS,
            {"ids": [1], "filter": {"projectId": 1}, "status": "IN_PROGRESS"},
        ),
        "neither ids nor filter": ("POST", BULK_STATUS, {"status": "IN_PROGRESS"}),
        "empty bulk filter": ("POST", BULK_STATUS, {"filter": {}, "status": "IN_PROGRESS"}),
        "unknown bulk mode": (
            "POST",
            BULK_STATUS,
            {"ids": [Ref("instance_a")], "status": "IN_PROGRESS", "mode": "sometimes"},
        ),
        "over 10,000 bulk ids": (
            "POST",
            BULK_STATUS,
            {"ids": list(range(1, 10_002)), "status": "IN_PROGRESS"},
        ),
        "'1' for shiftDays": ("POST", DATES_A, {**SHIFT, "shiftDays": "1"}),
        "huge shiftDays": ("POST", DATES_A, {**SHIFT, "shiftDays": BIG}),
        "two kinds of date change": ("POST", DATES_A, {**SHIFT, "shiftWorkingDays": 1}),
        "no date change": ("POST", DATES_A, {"reasonCode": "PLAN_CHANGE"}),
        "unknown reasonCode": ("POST", DATES_A, {**SHIFT, "reasonCode": "BECAUSE"}),
        "bad previewToken": ("POST", DATES_A, {**SHIFT, "previewToken": "' OR 1=1"}),
        "string for cascade": ("POST", DATES_A, {**SHIFT, "cascade": "true"}),
        "unknown weekday": ("PUT", CALENDAR_A, {"workingWeekdays": ["MONDAY"]}),
        "no working weekday": ("PUT", CALENDAR_A, {"workingWeekdays": []}),
        "weekday twice": ("PUT", CALENDAR_A, {"workingWeekdays": ["MON", "MON"]}),
        "sop before start": (
            "POST",
            "/api/projects",
            with_(PROJECT, startDate="2027-01-02", sopDate="2027-01-01"),
        ),
    }
    for label, (method, path, body) in cases.items():
        yield pytest.param(Bad(method, path, 422, "VALIDATION_ERROR", json=body), id=label)
    for method, path, _body in (WRITES["create project"], WRITES["patch instance"]):
        yield pytest.param(
            Bad(method, path, 422, "VALIDATION_ERROR", content=b"null", headers=JSON),
            id=f"null body: {method} {path}",
        )
        yield pytest.param(
            Bad(method, path, 422, "VALIDATION_ERROR", content=b"", headers=JSON),
            id=f"empty body: {method} {path}",
        )


def _unknown_fields() -> Iterator[Any]:
    created = "2026-01-01T00:00:00Z"
    cases: dict[str, tuple[str, str, Any]] = {
        "id on create": ("POST", "/api/projects", with_(PROJECT, id=5)),
        "version on create": ("POST", "/api/projects", with_(PROJECT, version=7)),
        "createdAt on create": ("POST", "/api/projects", with_(PROJECT, createdAt=created)),
        "snake_case field": ("POST", "/api/projects", with_(PROJECT, start_date="2027-01-01")),
        "id on patch": ("PATCH", PROJECT_A, {"name": "x", "id": 5}),
        "version on patch": ("PATCH", PROJECT_A, {"name": "x", "version": 99}),
        "updatedAt on put": ("PUT", PROJECT_A, with_(PROJECT, updatedAt=created)),
        "id on supplier": ("POST", "/api/suppliers", with_(SUPPLIER, id=1)),
        "version on supplier put": ("PUT", SUPPLIER_A, with_(SUPPLIER, version=1)),
        "projectId on template": ("POST", TEMPLATES_A, with_(TEMPLATE, projectId=Ref("project_b"))),
        "id on template patch": ("PATCH", TEMPLATE_A, {"name": "x", "id": 1}),
        "status on assignment": (
            "POST",
            ASSIGN_A,
            {"supplierId": Ref("supplier_c"), "status": "REMOVED"},
        ),
        "supplierId on instance": ("PATCH", INSTANCE_A, {"notes": "x", "supplierId": 1}),
        "projectId on instance": ("PATCH", INSTANCE_A, {"notes": "x", "projectId": 1}),
        "completedAt on instance": (
            "PATCH",
            INSTANCE_A,
            {"status": "IN_PROGRESS", "completedAt": created},
        ),
        "version on instance": ("PATCH", INSTANCE_A, {"notes": "x", "version": 1}),
        "status on instance create": (
            "POST",
            "/api/task-instances",
            {
                "supplierProjectId": Ref("assignment_a"),
                "taskTemplateId": Ref("template_a_extra"),
                "status": "APPROVED",
            },
        ),
        "digest on token": ("POST", "/api/tokens", {"name": "x", "role": "admin", "digest": "0"}),
        "token on token": ("POST", "/api/tokens", {"name": "x", "role": "admin", "token": "st_x"}),
        "id on bulk status": (
            "POST",
            BULK_STATUS,
            {"ids": [Ref("instance_a")], "status": "IN_PROGRESS", "id": 1},
        ),
        "actor on date change": ("POST", DATES_A, {**SHIFT, "actor": "admin"}),
        "version on calendar": (
            "PUT",
            CALENDAR_A,
            {"workingWeekdays": ["MON"], "version": 1},
        ),
        "revokedAt on token": (
            "POST",
            "/api/tokens",
            {"name": "x", "role": "viewer", "revokedAt": created},
        ),
    }
    for label, (method, path, body) in cases.items():
        yield pytest.param(Bad(method, path, 422, "VALIDATION_ERROR", json=body), id=label)


def _oversized() -> Iterator[Any]:
    padding = "x" * (MIB + 10)
    for route in ("create project", "patch instance", "create token"):
        method, path, body = WRITES[route]
        content = orjson.dumps({**body, "description": padding})
        yield pytest.param(
            Bad(method, path, 413, "PAYLOAD_TOO_LARGE", content=content, headers=JSON),
            id=f"over 1 MiB with Content-Length: {route}",
        )
        yield pytest.param(
            Bad(
                method, path, 413, "PAYLOAD_TOO_LARGE", content=content, headers=JSON, chunked=True
            ),
            id=f"over 1 MiB chunked: {route}",
        )


def _too_long() -> Iterator[Any]:
    long = "x" * 10_000
    cases: dict[str, tuple[str, str, Any]] = {
        "project name": ("POST", "/api/projects", with_(PROJECT, name=long)),
        "project code": ("POST", "/api/projects", with_(PROJECT, code=long)),
        "project description over 10,000": (
            "POST",
            "/api/projects",
            with_(PROJECT, description=long + "x"),
        ),
        "supplier name": ("PATCH", SUPPLIER_A, {"name": long}),
        "supplier email": ("POST", "/api/suppliers", with_(SUPPLIER, contactEmail=long + "@x.io")),
        "capability": ("POST", "/api/suppliers", with_(SUPPLIER, capabilities=[long])),
        "template name": ("POST", TEMPLATES_A, with_(TEMPLATE, name=long)),
        "notes over 10,000": ("PATCH", INSTANCE_A, {"notes": long + "x"}),
        "reason": ("PATCH", INSTANCE_A, {"notes": "x", "reason": long}),
        "token name": ("POST", "/api/tokens", {"name": long, "role": "viewer"}),
    }
    for label, (method, path, body) in cases.items():
        yield pytest.param(Bad(method, path, 422, "VALIDATION_ERROR", json=body), id=label)
    queries = {
        "q": ("/api/projects", {"q": long}),
        "supplier q": ("/api/suppliers", {"q": long}),
        "sort": ("/api/projects", {"sort": long}),
        "cursor": ("/api/projects", {"cursor": long}),
        "capability filter": ("/api/suppliers", {"capability": long}),
    }
    for label, (path, params) in queries.items():
        yield pytest.param(Bad("GET", path, 422, "VALIDATION_ERROR", params=params), id=label)
    yield pytest.param(
        Bad(
            "PATCH",
            PROJECT_A,
            422,
            "VALIDATION_ERROR",
            json={"name": "x"},
            headers={"If-Match": '"' + "1" * 10_000 + '"'},
        ),
        id="If-Match",
    )


def _dates() -> Iterator[Any]:
    for value in (
        "2026-02-30",
        "2026-13-01",
        "tomorrow",
        "2026-1-1",
        "20260101",
        "2026-01-01T00:00:00Z",
        "",
        "0000-01-01",
        "+2026-01-01",
    ):
        for label, (method, path, body) in {
            "startDate": ("POST", "/api/projects", with_(PROJECT, startDate=value)),
            "canonicalDue": ("POST", TEMPLATES_A, with_(TEMPLATE, canonicalDue=value)),
            "actualDue": ("PATCH", INSTANCE_A, {"actualDue": value}),
            "newDate": (
                "POST",
                DATES_A,
                {"newDate": value, "templateIds": [Ref("template_a")], "reasonCode": "OTHER"},
            ),
            "bulk filter dueFrom": (
                "POST",
                BULK_STATUS,
                {"filter": {"dueFrom": value}, "status": "IN_PROGRESS"},
            ),
            "holiday": (
                "PUT",
                CALENDAR_A,
                {"workingWeekdays": ["MON"], "holidays": [{"date": value}]},
            ),
        }.items():
            yield pytest.param(
                Bad(method, path, 422, "VALIDATION_ERROR", json=body), id=f"{label}={value!r}"
            )
        yield pytest.param(
            Bad("GET", "/api/task-instances", 422, "VALIDATION_ERROR", params={"dueBefore": value}),
            id=f"dueBefore={value!r}",
        )


# Real dates outside the one valid range of every day field (1900-01-01..2199-12-31).
OUT_OF_RANGE = ("0001-01-01", "1899-12-31", "2200-01-01", "9999-12-31")


def _days_out_of_range() -> Iterator[Any]:
    """Every day field, in bodies and in query strings: 422 DATE_OUT_OF_RANGE."""
    for value in OUT_OF_RANGE:
        bodies = {
            "startDate": ("POST", "/api/projects", with_(PROJECT, startDate=value)),
            "sopDate": ("POST", "/api/projects", with_(PROJECT, sopDate=value)),
            "PATCH sopDate": ("PATCH", PROJECT_A, {"sopDate": value}),
            "canonicalDue": ("POST", TEMPLATES_A, with_(TEMPLATE, canonicalDue=value)),
            "PATCH canonicalDue": (
                "PATCH",
                TEMPLATE_A,
                {"canonicalDue": value, "reasonCode": "PLAN_CHANGE"},
            ),
            "actualDue": ("PATCH", INSTANCE_A, {"actualDue": value, "reasonCode": "OTHER"}),
            "newDate": (
                "POST",
                DATES_A,
                {"newDate": value, "templateIds": [Ref("template_a")], "reasonCode": "OTHER"},
            ),
            "dates dueFrom": ("POST", DATES_A, {**SHIFT, "dueFrom": value}),
            "dates dueTo": ("POST", DATES_A, {**SHIFT, "dueTo": value}),
            "bulk filter dueFrom": (
                "POST",
                BULK_STATUS,
                {"filter": {"dueFrom": value}, "status": "IN_PROGRESS"},
            ),
            "bulk filter dueTo": (
                "POST",
                BULK_STATUS,
                {"filter": {"dueTo": value}, "status": "IN_PROGRESS"},
            ),
            "holiday": (
                "PUT",
                CALENDAR_A,
                {"workingWeekdays": ["MON"], "holidays": [{"date": value}]},
            ),
        }
        for label, (method, path, body) in bodies.items():
            yield pytest.param(
                Bad(method, path, 422, "DATE_OUT_OF_RANGE", json=body), id=f"{label}={value}"
            )
        queries = {
            "dueBefore": ("/api/task-instances", {"dueBefore": value}),
            "dueAfter": ("/api/task-instances", {"dueAfter": value}),
            "asOf": ("/api/task-instances", {"asOf": value}),
            "asOf one": (INSTANCE_A, {"asOf": value}),
            "preview newDate": (
                DATES_A,
                {"newDate": value, "templateIds": Ref("template_a")},
            ),
            "preview dueFrom": (DATES_A, {"shiftDays": 1, "dueFrom": value}),
            "preview dueTo": (DATES_A, {"shiftDays": 1, "dueTo": value}),
            "report from": ("/api/reports/supplier-performance", {"from": value}),
            "report to": ("/api/reports/supplier-performance", {"to": value}),
        }
        for label, (path, params) in queries.items():
            yield pytest.param(
                Bad("GET", path, 422, "DATE_OUT_OF_RANGE", params=params), id=f"{label}={value}"
            )


def body_cases() -> list[Any]:
    """Every bad-body case, as pytest params."""
    return [
        *_malformed(),
        *_wrong_types(),
        *_unknown_fields(),
        *_oversized(),
        *_too_long(),
        *_dates(),
        *_days_out_of_range(),
    ]
