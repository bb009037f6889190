"""Rate limits: per token on every route, per supplier across its tokens, per token on bulk.

Moving windows: in Redis through the limits library (shared by every worker process) when
REDIS_URL is set, else in this process's memory. While Redis is down (a failed call opens the
breaker for a few seconds) each process counts on its own in memory: the limits still hold
per process, and no request waits on a dead Redis or fails because of it.

The memory windows are this module's own (a deque of times per key, O(1) a request): the
limits library's memory storage inserts at the front of a list, which costs as much as the
window holds, a copy of hundreds of thousands of entries a request at high rates.

Every limited answer carries RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset (of the
rule closest to its limit); a refused one is 429 with Retry-After as well.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from supplytrack.core import metrics
from supplytrack.core.errors import RateLimited
from supplytrack.core.identity import Actor
from supplytrack.core.redis_client import breaker, pool, redis_prefix
from supplytrack.core.settings import Settings

Headers = list[tuple[bytes, bytes]]


@dataclass(frozen=True, slots=True)
class Rule:
    """One limit on one key; ``what`` names it in a refusal."""

    what: str
    limit: RateLimitItem
    key: str


@dataclass(frozen=True, slots=True)
class _Count:
    rule: Rule
    allowed: bool
    remaining: int
    reset_at: float


class LocalWindows:
    """Moving windows in this process's memory: the times of the hits still in each window."""

    def __init__(self) -> None:
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def count(self, rules: Sequence[Rule]) -> list[_Count]:
        """Count one hit against each rule that has room (like the limits strategies do)."""
        now = time.time()
        counts = []
        with self._lock:
            for rule in rules:
                window = rule.limit.get_expiry()
                hits = self._hits.setdefault((rule.key, str(rule.limit)), deque())
                while hits and hits[0] <= now - window:
                    hits.popleft()
                allowed = len(hits) < rule.limit.amount
                if allowed:
                    hits.append(now)
                reset_at = (hits[0] if hits else now) + window
                counts.append(_Count(rule, allowed, rule.limit.amount - len(hits), reset_at))
        return counts


def _limit(value: str) -> RateLimitItem | None:
    return None if value.strip().lower() == "off" else parse(value)


class RateLimiter:
    """The rules of the settings, counted in Redis (shared) or in this process's memory."""

    def __init__(self, settings: Settings) -> None:
        self.per_token = _limit(settings.rate_limit_default)
        self.per_supplier = _limit(settings.rate_limit_supplier)
        self.per_bulk = _limit(settings.bulk_rate_limit)
        self.local = LocalWindows()
        self.shared: MovingWindowRateLimiter | None = None
        if settings.redis_url:
            storage = RedisStorage(
                settings.redis_url,
                connection_pool=pool(settings),
                key_prefix=f"{redis_prefix(settings)}_limits",
            )
            self.shared = MovingWindowRateLimiter(storage)
        self.breaker = breaker("ratelimit", f"rate limits {redis_prefix(settings)}", settings)

    def rules(self, actor: Actor, *, bulk: bool = False) -> list[Rule]:
        """What one request of ``actor`` counts against (bulk: the bulk rule only)."""
        if actor.token_id is None:
            return []
        if bulk:
            return (
                []
                if self.per_bulk is None
                else [Rule("bulk", self.per_bulk, f"bulk:{actor.token_id}")]
            )
        rules = []
        if self.per_token is not None:
            rules.append(Rule("token", self.per_token, f"token:{actor.token_id}"))
        if actor.is_supplier and self.per_supplier is not None:
            rules.append(Rule("supplier", self.per_supplier, f"supplier:{actor.supplier_id}"))
        return rules

    def admit(self, rules: Sequence[Rule]) -> Headers:
        """Count one request against ``rules``: its RateLimit headers, or 429 when over one."""
        if not rules:
            return []
        shared = self.shared
        if shared is None:
            counts = self.local.count(rules)
        else:
            counts = self.breaker.call(
                lambda: self._count(shared, rules), lambda: self.local.count(rules)
            )
        refused = [count for count in counts if not count.allowed]
        closest = refused[0] if refused else min(counts, key=lambda count: count.remaining)
        reset = max(1, math.ceil(closest.reset_at - time.time()))
        headers = [
            (b"ratelimit-limit", str(closest.rule.limit.amount).encode()),
            (b"ratelimit-remaining", str(max(0, closest.remaining)).encode()),
            (b"ratelimit-reset", str(reset).encode()),
        ]
        if refused:
            rule = closest.rule
            metrics.RATE_LIMITED.labels(rule.what).inc()
            raise RateLimited(
                f"too many requests for this {rule.what} ({rule.limit}); retry in {reset} s",
                headers={"Retry-After": str(reset), **{k.decode(): v.decode() for k, v in headers}},
                details=[
                    {"limit": str(rule.limit), "scope": rule.what, "retryAfterSeconds": reset}
                ],
            )
        return headers

    @staticmethod
    def _count(limiter: MovingWindowRateLimiter, rules: Sequence[Rule]) -> list[_Count]:
        counts = []
        for rule in rules:
            allowed = limiter.hit(rule.limit, rule.key)
            stats = limiter.get_window_stats(rule.limit, rule.key)
            counts.append(_Count(rule, allowed, stats.remaining, stats.reset_time))
        return counts
