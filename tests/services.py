"""Before the PostgreSQL half of `make test`: are PostgreSQL and Redis there to run it against?

Exit 0 when both answer; otherwise say in one line why the half is skipped (exit 1), or, in
CI (CI=true), why it cannot run (exit 2: CI must not pass on a skipped half).
"""

from __future__ import annotations

import os
import sys

import psycopg
import redis

from supplytrack.core.settings import normalise_database_url


def problem(database_url: str, redis_url: str) -> str | None:
    """What keeps the PostgreSQL half from running, or None."""
    plain = normalise_database_url(database_url).replace("postgresql+psycopg://", "postgresql://")
    try:
        psycopg.connect(plain, connect_timeout=3).close()
    except psycopg.Error as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return f"PostgreSQL at {database_url} is not reachable ({first})"
    try:
        redis.Redis.from_url(redis_url, socket_timeout=3, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        return f"Redis at {redis_url} is not reachable ({type(error).__name__}: {error})"
    return None


def main() -> int:
    """Check, say, and exit as the module says."""
    database_url, redis_url = sys.argv[1], sys.argv[2]
    found = problem(database_url, redis_url)
    if found is None:
        return 0
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        print(f"PostgreSQL half cannot run in CI: {found}", file=sys.stderr)  # noqa: T201
        return 2
    print(f"PostgreSQL half skipped: {found}")  # noqa: T201
    return 1


if __name__ == "__main__":
    sys.exit(main())
