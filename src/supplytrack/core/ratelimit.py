"""Rate limits per token (the limits library: memory embedded, Redis when REDIS_URL is set)."""

from __future__ import annotations

import logging
import math
import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from supplytrack.core.errors import RateLimited
from supplytrack.core.settings import Settings

log = logging.getLogger("supplytrack.ratelimit")


class RateLimiter:
    """One limit (e.g. 30/minute) counted per key."""

    def __init__(self, settings: Settings) -> None:
        self.limit = parse(settings.bulk_rate_limit)
        self.storage = storage_from_string(settings.redis_url or "memory://")
        self.limiter = MovingWindowRateLimiter(self.storage)

    def hit(self, key: str) -> None:
        """Count one request; 429 with Retry-After when the key is over its limit."""
        try:
            allowed = self.limiter.hit(self.limit, key)
        except Exception:
            log.warning("rate limiter unavailable; request allowed", exc_info=True)
            return
        if allowed:
            return
        reset = self.limiter.get_window_stats(self.limit, key).reset_time
        retry_after = max(1, math.ceil(reset - time.time()))
        raise RateLimited(
            f"too many bulk requests ({self.limit}); retry in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
            details=[{"limit": str(self.limit), "retryAfterSeconds": retry_after}],
        )
