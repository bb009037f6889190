"""Test configuration: fixtures live in tests/fixtures/."""

import os
import re

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.auth",
    "tests.fixtures.factories",
    "tests.fixtures.client",
    "tests.fixtures.redis_server",
]


def _own_redis_database() -> None:
    """Give each pytest-xdist worker a Redis database number of its own.

    Some tests flush their Redis database; two workers sharing one would flush each other's
    keys. Worker gwN takes the configured number minus N (15, 14, ... by default), so the run
    still touches only numbers counted down from the one it was given.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    url = os.environ.get("TEST_REDIS_URL")
    match = re.fullmatch(r"gw(\d+)", worker)
    if not url or match is None:
        return
    base = re.search(r"/(\d+)$", url)
    number = (int(base.group(1)) if base else 0) - int(match.group(1))
    if number < 0:
        raise RuntimeError(f"too many xdist workers for Redis database {url}")
    stem = url[: base.start()] if base else url.rstrip("/")
    os.environ["TEST_REDIS_URL"] = f"{stem}/{number}"


_own_redis_database()
