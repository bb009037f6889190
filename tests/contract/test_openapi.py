"""The OpenAPI document is valid, and documents every route's errors and every field.

SPEC section 3 promises one error shape and a fixed set of statuses; DESIGN section 2 asks for
a description on every public field. These tests read the document the app serves.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient

from supplytrack.core.settings import Settings
from supplytrack.main import create_app

HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
ENVELOPE = "#/components/schemas/ErrorEnvelope"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    """The OpenAPI document as served at /openapi.json (no database needed to build it)."""
    app = create_app(Settings(database_url="sqlite://", log_level="warning"))
    with TestClient(app) as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    served: dict[str, Any] = response.json()
    assert served == _jsonable(app.openapi())
    return served


def _jsonable(value: Any) -> Any:
    """The value after a JSON round trip (tuples become lists, keys strings)."""
    import json

    return json.loads(json.dumps(value))


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every (METHOD, path, operation) of the document."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield method.upper(), path, operation


def api_operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """The operations under /api (token required)."""
    return [(m, p, op) for m, p, op in operations(document) if p.startswith("/api/")]


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local $ref."""
    while "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        target: Any = document
        for part in ref[2:].split("/"):
            target = target[part]
        node = target
    return node


def test_document_is_valid_openapi(document: dict[str, Any]) -> None:
    """The meta-schema of its OpenAPI version accepts it (checked by schemathesis)."""
    assert re.fullmatch(r"3\.[01]\.\d+", document["openapi"])
    schema = schemathesis.openapi.from_dict(copy.deepcopy(document))
    schema.validate()
    assert document["info"]["title"]
    assert document["info"]["version"]


def test_the_validator_does_reject_a_broken_document(document: dict[str, Any]) -> None:
    """The check above is not a no-op: a document without paths' responses is refused."""
    broken = copy.deepcopy(document)
    broken["paths"]["/healthz"]["get"]["responses"] = "none"
    with pytest.raises(jsonschema_rs.ValidationError):
        schemathesis.openapi.from_dict(broken).validate()


def test_every_route_is_documented(app: FastAPI, document: dict[str, Any]) -> None:
    """Each route of the app appears in the document (docs and assets aside; app_routes leaves
    out the web app's pages)."""
    from tests.contract.support import app_routes

    served = {
        (method, path)
        for method, path in app_routes(app)
        if not path.startswith(("/docs", "/openapi", "/static/"))
    }
    documented = {(method, path) for method, path, _ in operations(document)}
    assert served == documented


def test_every_operation_has_a_summary_and_a_description(document: dict[str, Any]) -> None:
    """People read these in /docs."""
    missing = [
        f"{method} {path}"
        for method, path, operation in operations(document)
        if not (operation.get("summary") and operation.get("description"))
    ]
    assert missing == []


def _documented_errors(document: dict[str, Any]) -> Iterator[tuple[str, str, set[str]]]:
    for method, path, operation in api_operations(document):
        yield method, path, set(operation.get("responses", {}))


def test_every_api_route_documents_its_errors(document: dict[str, Any]) -> None:
    """401 and 403 everywhere under /api, 404 with a path id, 422 for validation, 400, 413."""
    gaps: list[str] = []
    for method, path, documented in _documented_errors(document):
        wanted = {"400", "401", "403", "422", "503"}
        if "{" in path:
            wanted.add("404")
        if method in ("POST", "PUT", "PATCH"):
            wanted.add("413")
        gaps.extend(f"{method} {path}: {code}" for code in sorted(wanted - documented))
    assert gaps == []


def test_routes_taking_if_match_document_412(document: dict[str, Any]) -> None:
    """SPEC section 2: a stale If-Match is answered 412."""
    gaps = [
        f"{method} {path}"
        for method, path, operation in api_operations(document)
        if any(p.get("name", "").lower() == "if-match" for p in operation.get("parameters", []))
        and "412" not in operation["responses"]
    ]
    assert gaps == []


def test_routes_naming_ids_in_their_body_document_404(document: dict[str, Any]) -> None:
    """A body that names another object (supplierId, taskTemplateId...) may name a missing one."""
    gaps: list[str] = []
    for method, path, operation in api_operations(document):
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if not body:
            continue
        properties = resolve(document, body["schema"]).get("properties", {})
        required = set(resolve(document, body["schema"]).get("required", []))
        if any(name.endswith("Id") and name in required for name in properties) and (
            "404" not in operation["responses"]
        ):
            gaps.append(f"{method} {path}")
    assert gaps == []


def test_every_error_answer_is_the_envelope(document: dict[str, Any]) -> None:
    """Each documented 4xx/5xx of /api has SPEC's envelope as its JSON schema."""
    wrong: list[str] = []
    for method, path, operation in api_operations(document):
        for code, response in operation["responses"].items():
            if not code.startswith(("4", "5")):
                continue
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            if schema.get("$ref") != ENVELOPE:
                wrong.append(f"{method} {path} {code}: {schema}")
    assert wrong == []


def test_the_envelope_schema_is_spec_shaped(document: dict[str, Any]) -> None:
    """{"error": {"code", "message", "details", "requestId"}}, all required, details a list."""
    envelope = resolve(document, {"$ref": ENVELOPE})
    assert envelope["required"] == ["error"]
    error = resolve(document, envelope["properties"]["error"])
    assert set(error["required"]) == {"code", "message", "details", "requestId"}
    assert set(error["properties"]) == {"code", "message", "details", "requestId"}
    assert error["properties"]["code"]["type"] == "string"
    assert error["properties"]["message"]["type"] == "string"
    assert error["properties"]["details"]["type"] == "array"


def test_no_route_documents_fastapis_own_validation_shape(document: dict[str, Any]) -> None:
    """The API never answers FastAPI's {"detail": [...]}: the document must not promise it."""
    schemas = set(document.get("components", {}).get("schemas", {}))
    assert not schemas & {"HTTPValidationError", "ValidationError"}


def test_every_success_answer_has_a_schema(document: dict[str, Any]) -> None:
    """A 2xx with a JSON body says what the body is (the API's, and /readyz's too)."""
    empty = [
        f"{method} {path} {code}"
        for method, path, operation in operations(document)
        for code, response in operation["responses"].items()
        if code.startswith("2")
        and "application/json" in response.get("content", {})
        and not response["content"]["application/json"].get("schema")
    ]
    assert empty == [], empty


def _schemas_of_bodies(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema reachable from a request or response body, with a name for messages."""
    seen: set[str] = set()
    pending: list[tuple[str, dict[str, Any]]] = []
    for method, path, operation in operations(document):
        bodies = [operation.get("requestBody", {})]
        bodies += list(operation.get("responses", {}).values())
        pending.extend(
            (f"{method} {path}", media["schema"])
            for body in bodies
            for media in body.get("content", {}).values()
            if media.get("schema")
        )
    while pending:
        name, node = pending.pop()
        ref = node.get("$ref")
        if ref:
            if ref in seen:
                continue
            seen.add(ref)
            pending.append((ref.rsplit("/", 1)[-1], resolve(document, node)))
            continue
        yield name, node
        pending.extend(
            (name, node[key])
            for key in ("items", "additionalProperties")
            if isinstance(node.get(key), dict)
        )
        for key in ("anyOf", "oneOf", "allOf"):
            pending.extend((name, child) for child in node.get(key, []))
        pending.extend((name, child) for child in node.get("properties", {}).values())


def test_every_body_property_has_a_description(document: dict[str, Any]) -> None:
    """DESIGN section 2: every public field is described (it is the API's documentation)."""
    missing = sorted(
        {
            f"{name}.{prop}"
            for name, node in _schemas_of_bodies(document)
            for prop, schema in node.get("properties", {}).items()
            if not schema.get("description")
        }
    )
    assert missing == []


def test_every_parameter_has_a_description(document: dict[str, Any]) -> None:
    """Query, path and header parameters are public fields too."""
    missing = [
        f"{method} {path} {parameter['in']} {parameter['name']}"
        for method, path, operation in operations(document)
        for parameter in operation.get("parameters", [])
        if not parameter.get("description")
    ]
    assert missing == []


def test_bearer_authentication_is_declared(document: dict[str, Any]) -> None:
    """Clients and tools learn from the document that /api wants a bearer token."""
    schemes = document.get("components", {}).get("securitySchemes", {})
    bearer = [
        name
        for name, scheme in schemes.items()
        if scheme.get("type") == "http" and scheme.get("scheme", "").lower() == "bearer"
    ]
    assert bearer, "no http bearer security scheme"
    unsecured = [
        f"{method} {path}"
        for method, path, operation in api_operations(document)
        if not any(
            set(requirement) & set(bearer)
            for requirement in operation.get("security", document.get("security", []))
        )
    ]
    assert unsecured == []
    public = [
        f"{method} {path}"
        for method, path, operation in operations(document)
        if path in PUBLIC_PATHS
        and operation.get("security", document.get("security", [])) not in ([], [{}])
    ]
    assert public == []
