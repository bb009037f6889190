"""The breaker that keeps a dead Redis from being waited on, and the deployment's namespace."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis

from supplytrack.core.redis_client import Breaker, redis_prefix
from supplytrack.core.settings import Settings


def test_an_open_breaker_skips_the_dependency_until_its_cool_down_ends() -> None:
    calls: list[str] = []

    def down() -> str:
        calls.append("tried")
        raise redis.ConnectionError("refused")

    patient = Breaker("test", cooldown=3600)
    assert patient.call(down, lambda: "fallback") == "fallback"
    assert patient.is_open
    assert patient.call(down, lambda: "fallback") == "fallback"
    assert calls == ["tried"]  # the second call did not wait on the dead dependency

    eager = Breaker("test", cooldown=0)
    assert eager.call(down, lambda: "fallback") == "fallback"
    assert eager.call(lambda: "answer", lambda: "fallback") == "answer"  # tried again, closed
    assert not eager.is_open


def test_errors_that_are_not_the_dependencys_go_through() -> None:
    def broken() -> str:
        raise ValueError("a bug, not an outage")

    with pytest.raises(ValueError, match="a bug"):
        Breaker("test").call(broken, lambda: "fallback")


def test_the_namespace_follows_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    relative = Settings(database_url="sqlite:///./a.db")
    absolute = Settings(database_url=f"sqlite:///{os.path.join(tmp_path, 'a.db')}")
    other = Settings(database_url="sqlite:///./b.db")
    assert redis_prefix(relative) == redis_prefix(absolute)
    assert redis_prefix(relative) != redis_prefix(other)
    secret = Settings(database_url="postgresql://u:one@db/app")
    rotated = Settings(database_url="postgresql://u:two@db/app")
    assert redis_prefix(secret) == redis_prefix(rotated)  # a new password is the same database
    assert (
        Settings(redis_prefix="prod_eu", database_url="sqlite:///./a.db").redis_prefix == "prod_eu"
    )
    with pytest.raises(ValueError, match="redis_prefix"):
        Settings(redis_prefix="has spaces")
