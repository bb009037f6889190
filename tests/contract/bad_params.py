"""Bad parameters: limits, cursors, ids in paths, queries and bodies, sort fields."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.contract.bad_cases import (
    ASSIGN_A,
    BAD_IDS,
    BIG,
    BULK_STATUS,
    DATES_A,
    ID_ROUTES,
    LISTS,
    SHIFT,
    SORTED_LISTS,
    TEMPLATE,
    TEMPLATES_A,
    Bad,
    Ref,
    b64,
    with_,
)


def _limits() -> Iterator[Any]:
    for name, path in LISTS.items():
        for limit in (0, -1, 501, BIG, "abc", "1.5", ""):
            yield pytest.param(
                Bad("GET", path, 422, "VALIDATION_ERROR", params={"limit": limit}),
                id=f"limit={limit if limit != BIG else '10**30'}: {name}",
            )


# The sort a list uses when none is given (keyset lists), or None (lists ordered by id alone).
DEFAULT_SORT: dict[str, str | None] = {
    "projects": "id",
    "suppliers": "id",
    "instances": "id",
    "templates": "sequence",
    "assignments": None,
    "history": None,
    "tokens": None,
}


def cursor_for(name: str, key: Any, row_id: Any) -> str:
    """A cursor shaped like the ones the list ``name`` hands out, with these values."""
    sort = DEFAULT_SORT[name]
    return b64([sort, False, key, row_id] if sort else ["id", row_id])


def _cursors() -> Iterator[Any]:
    for name, path in LISTS.items():
        garbage = {
            "garbage": "garbage!!",
            "base64 of garbage": b64(b"garbage"),
            "base64 of an object": b64({"id": 1}),
            "base64 of a short list": b64(["id"]),
            "empty": "",
            "wrong key type": cursor_for(name, "x", "x"),
            "boolean id": cursor_for(name, 1, True),
            "float id": cursor_for(name, 1, 1.5),
            "null id": cursor_for(name, None, None),
            "10**30 id": cursor_for(name, BIG, BIG),
            "2**63 id": cursor_for(name, 2**63, 2**63),
        }
        if DEFAULT_SORT[name]:
            garbage["flipped direction"] = b64([DEFAULT_SORT[name], True, 1, 1])
        for label, cursor in garbage.items():
            yield pytest.param(
                Bad("GET", path, 400, "INVALID_CURSOR", params={"cursor": cursor}),
                id=f"cursor {label}: {name}",
            )
    typed: dict[str, tuple[str, Any]] = {
        "createdAt cursor that is no instant": ("createdAt", "garbage"),
        "updatedAt cursor that is a number": ("updatedAt", 5),
        "actualDue cursor that is no date": ("actualDue", "2026-02-30"),
        "status cursor that is a number": ("status", 5),
        "status cursor that is no status": ("status", "BOGUS"),
        "status cursor that is null": ("status", None),
    }
    for label, (sort, key) in typed.items():
        yield pytest.param(
            Bad(
                "GET",
                "/api/task-instances",
                400,
                "INVALID_CURSOR",
                params={"sort": sort, "cursor": b64([sort, False, key, 1])},
            ),
            id=label,
        )


def _ids() -> Iterator[Any]:
    for bad in (*BAD_IDS, "abc"):
        shown = "10**30" if bad == BIG else str(bad)
        for label, (method, template, body) in ID_ROUTES.items():
            path = template.replace("{id}", str(bad))
            yield pytest.param(
                Bad(method, path, 422, "VALIDATION_ERROR", json=body),
                id=f"path id {shown}: {label}",
            )
        for name in ("projectId", "supplierId", "supplierProjectId", "taskTemplateId"):
            yield pytest.param(
                Bad("GET", "/api/task-instances", 422, "VALIDATION_ERROR", params={name: bad}),
                id=f"filter {name}={shown}",
            )
        for name in ("templateIds", "supplierIds"):
            yield pytest.param(
                Bad(
                    "GET",
                    DATES_A,
                    422,
                    "VALIDATION_ERROR",
                    params={"shiftDays": 1, name: bad},
                ),
                id=f"preview {name}={shown}",
            )
    for bad in BAD_IDS:
        shown = "10**30" if bad == BIG else str(bad)
        bodies: dict[str, tuple[str, str, Any]] = {
            "assign supplierId": ("POST", ASSIGN_A, {"supplierId": bad}),
            "instance supplierProjectId": (
                "POST",
                "/api/task-instances",
                {"supplierProjectId": bad, "taskTemplateId": Ref("template_a_extra")},
            ),
            "instance taskTemplateId": (
                "POST",
                "/api/task-instances",
                {"supplierProjectId": Ref("assignment_a"), "taskTemplateId": bad},
            ),
            "dependsOn": ("POST", TEMPLATES_A, with_(TEMPLATE, dependsOn=[bad])),
            "token supplierId": (
                "POST",
                "/api/tokens",
                {"name": "x", "role": "supplier", "supplierId": bad},
            ),
            "bulk ids": ("POST", BULK_STATUS, {"ids": [bad], "status": "IN_PROGRESS"}),
            "bulk filter projectId": (
                "POST",
                BULK_STATUS,
                {"filter": {"projectId": bad}, "status": "IN_PROGRESS"},
            ),
            "date change templateIds": ("POST", DATES_A, {**SHIFT, "templateIds": [bad]}),
        }
        for label, (method, path, body) in bodies.items():
            yield pytest.param(
                Bad(method, path, 422, "VALIDATION_ERROR", json=body),
                id=f"body {label}={shown}",
            )


def _sorts() -> Iterator[Any]:
    for name in SORTED_LISTS:
        for sort in ("bogus", "-bogus", "--id", "id;drop table projects", "", "ID", "+id"):
            yield pytest.param(
                Bad("GET", LISTS[name], 400, "INVALID_SORT", params={"sort": sort}),
                id=f"sort={sort!r}: {name}",
            )


def param_cases() -> list[Any]:
    """Every bad-parameter case, as pytest params."""
    return [*_limits(), *_cursors(), *_ids(), *_sorts()]
