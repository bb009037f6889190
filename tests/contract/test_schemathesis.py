"""Schemathesis over the whole OpenAPI document: no 5xx, no answer the document does not promise.

One run as an admin, one as a supplier token. The document is loaded once from an app on an
in-memory database (it does not depend on data); each operation is one pytest test whose
requests go to the module's app, on the two-supplier data set, inside a savepoint rolled back
after the test. (schemathesis' lazy ``from_fixture`` schema would fit better, but 4.32 touches
``Function._nodeid``, which pytest 9 no longer has.) Generated path ids are steered onto
existing rows most of the time, so that the interesting answers (200, 409, 412, 422) are
reached and not only 404. Hypothesis is derandomized and bounded so that the file runs in well
under two minutes; CONTRACT_MAX_EXAMPLES=200 makes a deeper hunt.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import update
from sqlalchemy.orm import Session

from supplytrack.auth.models import ApiToken
from supplytrack.core.schemas import MAX_ID
from supplytrack.core.settings import Settings
from supplytrack.main import create_app
from tests.contract.support import Shared, World
from tests.fixtures.auth import Caller

pytestmark = pytest.mark.slow

# What the contract promises: no 5xx; only documented statuses, content types, headers and
# bodies; and schema-invalid input refused. (Schemathesis' positive_data_acceptance is left
# out: a schema-valid cursor, If-Match or PATCH body can still be refused by a rule the schema
# cannot express, with a documented 400/422.)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]

# Bounded so that the file stays well under two minutes; raise it for a deeper local hunt.
MAX_EXAMPLES = int(os.environ.get("CONTRACT_MAX_EXAMPLES", "20"))
BOUNDED = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


# Unknown query parameters are ignored by design, so schemathesis is not asked to send them.
CONFIG = schemathesis.Config.from_dict(
    {"seed": 1, "generation": {"allow-extra-parameters": False, "allow-x00": True}}
)
schema = schemathesis.openapi.from_asgi(
    "/openapi.json",
    create_app(Settings(database_url="sqlite://", log_level="warning")),
    config=CONFIG,
)


def known_ids(world: World) -> dict[str, list[int]]:
    """Existing ids per path parameter name."""
    return {
        "project_id": [world.project_a, world.project_b, world.project_shared],
        "supplier_id": [world.supplier_a, world.supplier_b, world.supplier_c],
        "template_id": [world.template_a, world.template_b, world.template_shared],
        "instance_id": [world.instance_a, world.instance_b, world.instance_b_shared],
        "token_id": [world.token_a, world.token_b],
    }


def steer_ids(case: Any, world: World) -> None:
    """Point three of four generated path ids at existing rows (deterministically)."""
    parameters = case.path_parameters or {}
    ids = known_ids(world)
    for name, value in list(parameters.items()):
        if name in ids and isinstance(value, int) and 1 <= value <= MAX_ID and value % 4 != 0:
            parameters[name] = ids[name][value % len(ids[name])]


def keep_alive(session: Session, caller: Caller) -> None:
    """An admin run may revoke its own token (DELETE /api/tokens/{id}): undo that."""
    session.execute(update(ApiToken).where(ApiToken.id == caller.token_id).values(revoked_at=None))
    session.flush()


@schema.parametrize()
@BOUNDED
def test_api_as_admin(case: Any, shared: Shared, savepoint: None) -> None:
    """Every operation as an admin: documented statuses and bodies, never a 5xx."""
    steer_ids(case, shared.world)
    keep_alive(shared.session, shared.admin)
    response = case.call(app=shared.app, headers=shared.admin.headers)
    case.validate_response(response, checks=CHECKS, headers=shared.admin.headers)


@schema.parametrize()
@BOUNDED
def test_api_as_supplier(case: Any, shared: Shared, savepoint: None) -> None:
    """Every operation as supplier A: 403/404 where it may not, never a 5xx."""
    steer_ids(case, shared.world)
    response = case.call(app=shared.app, headers=shared.supplier_a.headers)
    case.validate_response(response, checks=CHECKS, headers=shared.supplier_a.headers)
