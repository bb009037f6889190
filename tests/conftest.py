"""Test configuration: fixtures live in tests/fixtures/."""

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.auth",
    "tests.fixtures.factories",
    "tests.fixtures.client",
    "tests.fixtures.redis_server",
]
