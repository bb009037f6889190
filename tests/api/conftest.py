"""Fixtures of the fast-path tests."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from supplytrack.main import create_app
from tests.fixtures.database import TransactionalDatabase


@pytest.fixture
def pair(database: TransactionalDatabase) -> Iterator[tuple[TestClient, TestClient]]:
    """(fast, plain): the same application with and without the fast path."""
    on = create_app(database.settings.model_copy(update={"fast_paths": True}), database=database)
    off = create_app(database.settings.model_copy(update={"fast_paths": False}), database=database)
    with (
        TestClient(on, raise_server_exceptions=False) as a,
        TestClient(off, raise_server_exceptions=False) as b,
    ):
        yield a, b
