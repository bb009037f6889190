"""Fixtures of the contract tests: the two-supplier data set, built once per module.

Contract modules send hundreds of requests against the same data set (tests/contract/
support.py); building it per test would cost most of the run. ``shared`` builds it once per
module in an outer transaction, and ``savepoint`` rolls back whatever one test changed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from supplytrack.core.db import Database
from tests.contract.support import Shared, rolled_back, shared_data_set


@pytest.fixture(scope="module")
def shared(shared_database: Database) -> Iterator[Shared]:
    """The data set, its app, client, session and tokens, for one module."""
    with shared_data_set(shared_database) as data:
        yield data


@pytest.fixture
def savepoint(shared: Shared) -> Iterator[None]:
    """Undo whatever the test changed in the module's data set."""
    with rolled_back(shared):
        yield
