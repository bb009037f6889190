"""Fixtures of the contract tests: the two-supplier data set, built once per module.

Contract modules send hundreds of requests against the same data set (tests/contract/
support.py); building it per test would cost most of the run. ``shared`` builds it once per
module in an outer transaction, and ``savepoint`` rolls back whatever one test changed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from supplytrack.core.db import Database
from tests.contract.support import Shared, World, rolled_back, shared_data_set
from tests.fixtures.auth import Caller


@pytest.fixture(scope="module")
def shared(row_secured_database: Database) -> Iterator[Shared]:
    """The data set, its app, client, session and tokens, for one module.

    On PostgreSQL the app connects as a role that owns nothing, so row-level security is in
    force beneath every request of the contract tests (the application's scope too).
    """
    with shared_data_set(row_secured_database) as data:
        yield data


@pytest.fixture
def savepoint(shared: Shared) -> Iterator[None]:
    """Undo whatever the test changed in the module's data set."""
    with rolled_back(shared):
        yield


# The module's data set under the usual fixture names (overriding the per-test ones).


@pytest.fixture
def client(shared: Shared, savepoint: None) -> TestClient:
    """The module's HTTP client (inside the test's savepoint)."""
    return shared.client


@pytest.fixture
def session(shared: Shared, savepoint: None) -> Session:
    """The module's session, to count and read rows."""
    return shared.session


@pytest.fixture
def world(shared: Shared) -> World:
    """The module's data set."""
    return shared.world


@pytest.fixture
def admin(shared: Shared) -> Caller:
    """An admin token (admins may call every route)."""
    return shared.admin


@pytest.fixture
def viewer(shared: Shared) -> Caller:
    """A viewer token."""
    return shared.viewer


@pytest.fixture
def supplier_a(shared: Shared) -> Caller:
    """A token of supplier A."""
    return shared.supplier_a
