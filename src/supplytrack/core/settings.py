"""Settings read from the environment (the variable names of SPEC.md section 5)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits import parse
from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./supplytrack.db"


def normalise_database_url(url: str) -> str:
    """Turn the accepted spellings of a database URL into SQLAlchemy's.

    Prisma's ``file:./dev.db`` becomes an SQLite URL, and plain ``postgresql://`` or
    ``postgres://`` URLs are given the psycopg 3 driver.
    """
    url = url.strip()
    if url.startswith("file:"):
        path = url.removeprefix("file:")
        if path.startswith("//"):
            path = path.removeprefix("//")
        return f"sqlite:///{path}"
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    if url.startswith("sqlite://") and not url.startswith("sqlite+"):
        return "sqlite+pysqlite://" + url.removeprefix("sqlite://")
    return url


class Settings(BaseSettings):
    """Every knob of the service; all optional, documented in the README."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    database_url: str = Field(DEFAULT_DATABASE_URL, description="Primary database.")
    database_read_url: str | None = Field(None, description="Read replica for reports.")
    database_migration_url: str | None = Field(
        None,
        description="PostgreSQL: the tables' owner, for migrations, backups and restores"
        " (DATABASE_URL then connects as a role that owns nothing: `db roles`).",
    )
    database_connection_limit: int = Field(10, ge=1, le=1000)
    database_timeout: int = Field(5000, ge=1, description="Milliseconds to wait for a lock/pool.")
    database_statement_timeout: int = Field(
        15_000,
        ge=0,
        description="Milliseconds a request's database work (and one statement) may take; 0: off.",
    )
    database_retries: int = Field(3, ge=0, le=10, description="Retries of transient failures.")
    redis_url: str | None = None
    redis_prefix: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_]{1,64}$",
        description="Namespace of every Redis key and queue; derived from DATABASE_URL.",
    )
    redis_timeout_ms: int = Field(
        100, ge=1, le=10_000, description="Connect and command timeout of Redis calls."
    )
    redis_retry_seconds: float = Field(
        5.0, ge=0, le=600, description="After a failed Redis call, how long to do without it."
    )
    cache_enabled: bool = Field(
        True, description="Cache reads (exactly invalidated by every committed write)."
    )
    cache_ttl_seconds: int = Field(
        300, ge=1, le=86_400, description="How long a cached value lives at most."
    )
    cache_board_file: str | None = Field(
        None,
        description="Where the cache's generations live without Redis (shared by every process).",
    )
    cache_warm: bool = Field(
        True, description="Warm the cache as each server process starts (api/warm.py)."
    )
    cache_max_entries: int = Field(
        10_000, ge=10, le=10_000_000, description="Bound of the in-process cache (no Redis)."
    )
    metrics_token: str | None = Field(
        None,
        min_length=16,
        description="Bearer token /metrics asks for; unset: only this host may scrape.",
    )
    log_level: str = "info"
    log_format: str = Field(
        "auto", description="auto (readable on a terminal, JSON otherwise), json or console."
    )
    log_to_file: str | None = Field(None, description="'true' or a path: also log to a file.")
    app_timezone: str = "UTC"
    slow_query_ms: int = Field(200, ge=0)
    max_body_bytes: int = Field(1_048_576, ge=1024)
    shutdown_grace_seconds: int = Field(
        30, ge=1, le=3600, description="On SIGTERM, how long requests in flight may take."
    )
    fast_paths: bool = Field(
        True,
        description="Serve the plain hot requests without FastAPI (api/fast.py); off: FastAPI.",
    )
    # Bulk changes above the threshold run as jobs, in chunks of bulk_chunk_size rows.
    bulk_job_threshold: int = Field(5000, ge=1)
    bulk_chunk_size: int = Field(5000, ge=10, le=100_000)
    # Moving windows in the limits syntax ("600/minute", "20/second"), or "off".
    rate_limit_default: str = Field("6000/minute", description="Per token, on every route.")
    rate_limit_supplier: str = Field(
        "3000/minute", description="Per supplier, across all of its tokens, on every route."
    )
    bulk_rate_limit: str = Field(
        "30/minute",
        validation_alias=AliasChoices("rate_limit_bulk", "bulk_rate_limit"),
        description="Per token, on bulk submissions (RATE_LIMIT_BULK, or BULK_RATE_LIMIT).",
    )
    queue_file: str | None = Field(None, description="SQLite file of the embedded job queue.")
    queue_inline: bool = Field(False, description="Run jobs in-process right after commit.")
    job_lease_seconds: int = Field(60, ge=1, description="A silent worker loses its job then.")
    job_sweep_seconds: float = Field(
        5.0, gt=0, le=3600, description="How often a worker looks for jobs nobody runs."
    )
    access_log_enabled: bool = Field(True, description="Log every request of supplier tokens.")
    access_log_staff: bool = Field(False, description="Log staff tokens' requests too.")
    access_log_retention_days: int = Field(
        400, ge=1, le=36500, description="Access-log entries older than this are deleted."
    )
    retention_years: int = Field(
        1,
        ge=1,
        le=100,
        description="Years a COMPLETED or ARCHIVED project's records are kept (IATF 16949"
        " 7.5.3.2.1: one calendar year after the part ends; a project may ask for longer).",
    )
    access_log_flush_seconds: float = Field(
        1.0,
        ge=0,
        le=60,
        description="How often each process writes its access-log entries (0: when read).",
    )
    data_check_interval_minutes: int = Field(
        60, ge=0, le=7 * 24 * 60, description="Workers run the data checks this often (0: never)."
    )
    audit_signing_key: SecretStr | None = Field(
        None,
        min_length=32,
        description="Signs the audit chains' checkpoints (HMAC-SHA256); unset: none are made.",
    )
    audit_signing_previous_keys: SecretStr | None = Field(
        None, description="Comma-separated keys of older checkpoints (verified, never signing)."
    )
    audit_checkpoint_interval_minutes: int = Field(
        60, ge=0, le=7 * 24 * 60, description="Workers checkpoint the chains this often (0: never)."
    )
    audit_checkpoint_grace_seconds: int = Field(
        900,
        ge=0,
        le=7 * 24 * 3600,
        description="A checkpoint covers ids seen this long ago (longer than any transaction).",
    )
    data_quality_stale_days: int = Field(
        14, ge=1, le=3650, description="An overdue task untouched this long is a finding."
    )
    web_session_key: SecretStr | None = Field(
        None,
        min_length=32,
        description="Signs the web app's session cookies; unset: a random key per process.",
    )
    web_session_hours: float = Field(
        8, gt=0, le=24 * 30, description="A web session ends this long after sign-in."
    )
    web_session_idle_minutes: float = Field(
        30, gt=0, le=24 * 60, description="A web session ends after this long without a page."
    )
    web_cookie_secure: str = Field(
        "auto",
        description="'auto' (Secure when the request came over HTTPS), 'true' or 'false'.",
    )

    @field_validator("database_url", "database_read_url", "database_migration_url")
    @classmethod
    def _normalise_url(cls, value: str | None) -> str | None:
        return None if value is None or value == "" else normalise_database_url(value)

    @field_validator(
        "audit_signing_key", "audit_signing_previous_keys", "web_session_key", mode="before"
    )
    @classmethod
    def _empty_key_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("redis_url", "metrics_token")
    @classmethod
    def _empty_redis_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("rate_limit_default", "rate_limit_supplier", "bulk_rate_limit")
    @classmethod
    def _known_limit(cls, value: str) -> str:
        if value.strip().lower() == "off":
            return "off"
        try:
            parse(value)
        except ValueError as exc:
            msg = f"{value!r} is not a rate limit such as '600/minute' (or 'off')"
            raise ValueError(msg) from exc
        return value

    @field_validator("web_cookie_secure")
    @classmethod
    def _cookie_policy(cls, value: str) -> str:
        policy = value.strip().lower()
        if policy not in {"auto", "true", "false"}:
            msg = f"WEB_COOKIE_SECURE must be auto, true or false, not {value!r}"
            raise ValueError(msg)
        return policy

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().lower()
        if level not in {"debug", "info", "warning", "error", "critical"}:
            msg = f"LOG_LEVEL must be debug, info, warning, error or critical, not {value!r}"
            raise ValueError(msg)
        return level

    @field_validator("log_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        chosen = value.strip().lower()
        if chosen not in {"auto", "json", "console"}:
            msg = f"LOG_FORMAT must be auto, json or console, not {value!r}"
            raise ValueError(msg)
        return chosen

    @field_validator("app_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            msg = f"APP_TIMEZONE {value!r} is not a known IANA time zone"
            raise ValueError(msg) from exc
        return value

    @property
    def is_sqlite(self) -> bool:
        """Whether the primary database is SQLite."""
        return self.database_url.startswith("sqlite")

    @property
    def owner_url(self) -> str:
        """The URL migrations, backups and restores connect with (the tables' owner)."""
        return self.database_migration_url or self.database_url

    @property
    def queue_path(self) -> Path:
        """The embedded queue's SQLite file: QUEUE_FILE, or beside the SQLite database."""
        if self.queue_file:
            return Path(self.queue_file)
        if self.is_sqlite and ":memory:" not in self.database_url:
            database = Path(self.database_url.split(":///", 1)[-1])
            return database.with_name(database.stem + "-queue.db")
        return Path("supplytrack-queue.db")

    @property
    def log_file(self) -> Path | None:
        """Where to write the log file, when LOG_TO_FILE asks for one."""
        value = (self.log_to_file or "").strip()
        if value.lower() in {"", "0", "false", "no"}:
            return None
        if value.lower() in {"1", "true", "yes"}:
            return Path("logs/supplytrack.log")
        return Path(value)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once from the environment."""
    return Settings()
