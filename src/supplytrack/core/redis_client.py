"""Redis as this service uses it: one namespace per deployment, short timeouts, a breaker.

Redis is an accelerator here, never the truth: the job queue's messages are wake-up calls
(the jobs table is the outbox) and rate limits fall back to per-process counting. So a Redis
that is down or silent must cost a request at most one short timeout, and then nothing at all
until it is worth trying again: that is the breaker.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from typing import TypeVar

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy.engine import make_url

from supplytrack.core import metrics
from supplytrack.core.settings import Settings

log = logging.getLogger("supplytrack.redis")

T = TypeVar("T")

# What a Redis outage looks like to redis-py (and to the libraries built on it).
REDIS_ERRORS: tuple[type[BaseException], ...] = (redis.RedisError, OSError)


def redis_prefix(settings: Settings) -> str:
    """The namespace of every key and queue: REDIS_PREFIX, or one derived from the database.

    Two deployments (or two test runs) on one Redis server never share a key unless they
    share a database, and then they should.
    """
    if settings.redis_prefix:
        return settings.redis_prefix
    # Not by user: the service's role and the tables' owner (DATABASE_MIGRATION_URL) share it.
    url = make_url(settings.database_url).set(username=None, password=None)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        url = url.set(database=os.path.abspath(url.database))
    digest = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()
    return f"supplytrack_{digest[:10]}"


@lru_cache(maxsize=8)
def pool_at(url: str, timeout_ms: int) -> redis.ConnectionPool:
    """One pool per Redis URL and command timeout in this process (no retries)."""
    seconds = timeout_ms / 1000
    return redis.ConnectionPool.from_url(
        url, socket_timeout=seconds, socket_connect_timeout=seconds, retry=Retry(NoBackoff(), 0)
    )


def pool(settings: Settings, timeout_ms: int | None = None) -> redis.ConnectionPool:
    """This process's pool for the settings' Redis: REDIS_TIMEOUT_MS per command, no retries.

    A blocking reader (the queue consumer) passes a longer ``timeout_ms``.
    """
    if not settings.redis_url:
        msg = "REDIS_URL is not set"
        raise RuntimeError(msg)
    return pool_at(settings.redis_url, timeout_ms or settings.redis_timeout_ms)


def client(settings: Settings) -> redis.Redis:
    """A client of the settings' Redis with the short timeouts."""
    return redis.Redis(connection_pool=pool(settings))


def breaker(use: str, name: str, settings: Settings) -> Breaker:
    """The process's one breaker of ``name`` on the settings' Redis (shared by its requests).

    ``use`` (queue, ratelimit, cache) labels its fallbacks in /metrics.
    """
    return _breaker(use, name, settings.redis_url or "", settings.redis_retry_seconds)


@lru_cache(maxsize=32)
def _breaker(use: str, name: str, _url: str, cooldown: float) -> Breaker:
    return Breaker(name, cooldown, use=use)


class Breaker:
    """Skip a dependency for ``cooldown`` seconds after it failed, then try it again.

    ``call`` runs the operation while the breaker is closed; when the operation raises one of
    ``errors`` (or the breaker is open) it returns ``fallback()`` instead. Once the cool-down
    has passed, calls try the dependency again; the first failure opens the breaker again.
    """

    def __init__(
        self,
        name: str,
        cooldown: float = 5.0,
        errors: tuple[type[BaseException], ...] = REDIS_ERRORS,
        use: str = "other",
    ) -> None:
        self.name = name
        self.use = use  # the metrics label
        self.cooldown = cooldown
        self.errors = errors
        self._open_until = 0.0
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        """Whether calls are being skipped now."""
        return time.monotonic() < self._open_until

    def call(self, operation: Callable[[], T], fallback: Callable[[], T]) -> T:
        """``operation()``, or ``fallback()`` while the dependency is known to be down."""
        if self.is_open:
            metrics.redis_fallback(self.use)
            return fallback()
        try:
            result = operation()
        except self.errors as error:
            self._trip(error)
            metrics.redis_fallback(self.use)
            return fallback()
        if self._open_until:
            self._reset()
        return result

    def _trip(self, error: BaseException) -> None:
        with self._lock:
            was_closed = self._open_until == 0.0
            self._open_until = time.monotonic() + self.cooldown
        if was_closed:
            log.warning(
                "%s unavailable (%s: %s); skipped for %.0f s at a time until it answers",
                self.name,
                type(error).__name__,
                error,
                self.cooldown,
            )

    def _reset(self) -> None:
        with self._lock:
            self._open_until = 0.0
        log.warning("%s available again", self.name)
