"""Tokens: create (shown once), authenticate by digest, list, revoke."""

from __future__ import annotations

import hashlib
import re
import secrets
import string
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from supplytrack.audit.models import AuditEntity
from supplytrack.audit.service import AuditService, as_text, record_of
from supplytrack.auth.exceptions import InvalidToken, SupplierNotActive
from supplytrack.auth.models import ApiToken
from supplytrack.auth.repository import TokenRepository
from supplytrack.core.errors import BusinessRuleError, Conflict, NotFound
from supplytrack.core.identity import Actor, Role, system_actor
from supplytrack.core.time import utcnow

TOKEN_PREFIX = "st_"  # noqa: S105 - a prefix that makes leaked tokens easy to spot  # nosec B105
MAX_TOKEN_LENGTH = 200
DEMO_NAME_PREFIX = "demo-"
# A token is st_ + 40 random base62 characters + 6 of checksum (CRC32 of the 40, base62), so
# that a secret scanner can match st_[0-9A-Za-z]{46} and check the last 6 without asking us.
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_BODY, _CHECK = 40, 6
_SHAPE = re.compile(rf"st_[0-9A-Za-z]{{{_BODY + _CHECK}}}")
# A token's last use is written at most this often per process.
USAGE_INTERVAL_SECONDS = 60.0


def digest_of(raw_token: str) -> str:
    """The SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(raw_token.encode()).hexdigest()


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        digits.append(_BASE62[digit])
    return "".join(reversed(digits))


def checksum(body: str) -> str:
    """The 6 characters that end a token with this body."""
    return _base62(zlib.crc32(body.encode()), _CHECK)


def new_token() -> str:
    """A new raw token: prefix, 40 random characters (238 bits), checksum."""
    body = "".join(secrets.choice(_BASE62) for _ in range(_BODY))
    return f"{TOKEN_PREFIX}{body}{checksum(body)}"


def misspelt(raw_token: str) -> bool:
    """Whether a token has our shape but not its checksum (refused without a lookup).

    Tokens made before the checksum (st_ and 43 URL-safe characters) have another shape and
    are looked up as before.
    """
    if _SHAPE.fullmatch(raw_token) is None:
        return False
    body = raw_token[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + _BODY]
    return checksum(body) != raw_token[len(TOKEN_PREFIX) + _BODY :]


def _epoch(value: Any) -> float | None:
    """A moment as POSIX seconds: a datetime (naive ones are UTC), its text, or seconds."""
    if value is None or isinstance(value, int | float):
        return value
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return float(moment.timestamp())


def expiry_of(value: Any) -> float | None:
    """A token row's expires_at as POSIX seconds (for the cached row)."""
    return _epoch(value)


def actor_of(row: Any) -> Actor | None:
    """The actor of a token row (id, name, role, supplier_id, revoked, supplier status, expiry).

    None when the token is unknown, revoked or expired; SupplierNotActive (403) when it is a
    supplier's and that supplier is SUSPENDED or INACTIVE.
    """
    if row is None or row[4] is not None:
        return None
    expires = _epoch(row[6])
    if expires is not None and expires <= time.time():
        return None
    role = Role(row[2])
    if role == Role.SUPPLIER and row[5] != "ACTIVE":
        raise SupplierNotActive(row[3], str(row[5]))
    return Actor(row[0], role, row[1], row[3])


class TokenService:
    """The rules of API tokens."""

    def __init__(self, session: Session, actor: Actor | None = None) -> None:
        """``actor``: who the audit log names for changes (the system when not given)."""
        self.session = session
        self.tokens = TokenRepository(session)
        self.audit = AuditService(session, actor or system_actor())

    def authenticate(self, raw_token: str) -> Actor:
        """The actor of a live token; unknown, revoked and expired tokens are the same 401."""
        if not raw_token or len(raw_token) > MAX_TOKEN_LENGTH or misspelt(raw_token):
            raise InvalidToken
        actor = actor_of(self.tokens.by_digest(digest_of(raw_token)))
        if actor is None:
            raise InvalidToken
        return actor

    def create(
        self,
        name: str,
        role: Role,
        supplier_id: int | None,
        expires_in: timedelta | None = None,
    ) -> tuple[ApiToken, str]:
        """Create a token; the raw token is returned here once and never stored.

        A supplier token's supplier must exist: the flow that calls this has checked.
        """
        if (role == Role.SUPPLIER) != (supplier_id is not None):
            raise BusinessRuleError(
                "a supplier token needs supplierId, and only a supplier token may have one",
                code="SUPPLIER_ID_MISMATCH",
            )
        raw = new_token()
        now = utcnow()
        token = ApiToken(
            name=name,
            role=role,
            supplier_id=supplier_id,
            digest=digest_of(raw),
            prefix=raw[:10],
            created_at=now,
            expires_at=None if expires_in is None else now + expires_in,
        )
        self.tokens.add(token)
        self.audit.created(AuditEntity.TOKEN, token.id, record_of(token))
        return token, raw

    def rotate(self, token_id: int, grace: timedelta) -> tuple[ApiToken, str]:
        """A new token in the place of a live one, which runs out after ``grace``.

        The new one has the old one's name, role and supplier, and as long a life as the old
        one was given. A revoked or expired token is not rotated (409): create a new one.
        """
        old = self.get(token_id)
        now = utcnow()
        if old.revoked_at is not None or (old.expires_at is not None and old.expires_at <= now):
            raise Conflict(
                f"token {token_id} is revoked or expired; create a new one", code="TOKEN_NOT_LIVE"
            )
        life = None if old.expires_at is None else old.expires_at - old.created_at
        new, raw = self.create(old.name, old.role, old.supplier_id, life)
        before = record_of(old)
        self.tokens.expire(old.id, now + grace, replaced_by_id=new.id)
        self.session.refresh(old)
        self.audit.changed(AuditEntity.TOKEN, old.id, before, record_of(old))
        return new, raw

    def last_used(self, token_ids: Sequence[int]) -> dict[int, datetime]:
        """When each of these tokens was last used (never used: absent)."""
        return self.tokens.last_used(token_ids)

    def record_use(self, token_id: int) -> None:
        """Note that the token was used now."""
        self.tokens.touch(token_id, utcnow())

    def create_demo_tokens(self, supplier_id: int | None) -> list[tuple[Role, int | None, str]]:
        """Revoke earlier demo tokens; one of each role (a supplier's when one is given)."""
        when = utcnow()
        for revoked in self.tokens.revoke_named(DEMO_NAME_PREFIX, when):
            self.audit.changed(AuditEntity.TOKEN, revoked, {}, {"revokedAt": when})
        wanted: list[tuple[Role, int | None]] = [
            (Role.MANAGER, None),
            (Role.ADMIN, None),
            (Role.VIEWER, None),
        ]
        if supplier_id is not None:
            wanted.append((Role.SUPPLIER, supplier_id))
        created = []
        for role, bound in wanted:
            _, raw = self.create(f"{DEMO_NAME_PREFIX}{role.value}", role, bound)
            created.append((role, bound, raw))
        return created

    def get(self, token_id: int) -> ApiToken:
        """One token by id."""
        token = self.tokens.get(token_id)
        if token is None:
            raise NotFound("token", token_id)
        return token

    def page(
        self, *, include_revoked: bool, after_id: int | None, limit: int
    ) -> Sequence[ApiToken]:
        """Tokens in id order (one more than ``limit``)."""
        return self.tokens.page(include_revoked=include_revoked, after_id=after_id, limit=limit)

    def bound_to(self, supplier_id: int) -> bool:
        """Whether any token (live or revoked) was ever bound to the supplier."""
        return self.tokens.bound_to(supplier_id)

    def revoke(self, token_id: int) -> ApiToken:
        """Revoke a token; revoking an already revoked one is harmless."""
        token = self.get(token_id)
        before = as_text(token.revoked_at)
        if self.tokens.revoke(token_id, utcnow()):
            self.session.refresh(token)
            self.audit.changed(
                AuditEntity.TOKEN, token.id, {"revokedAt": before}, {"revokedAt": token.revoked_at}
            )
        return token


class UsageClock:
    """Which tokens' last use is due to be written again by this process (once a minute)."""

    def __init__(
        self,
        interval: float = USAGE_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = interval
        self.clock = clock
        self._written: dict[int, float] = {}
        self._lock = threading.Lock()

    def forget(self) -> None:
        """Write every token's next use (a database of other tokens with the same ids: tests)."""
        with self._lock:
            self._written.clear()

    def due(self, token_id: int) -> bool:
        """Whether to write this token's use now (and, if so, not again for a minute)."""
        now = self.clock()
        with self._lock:
            last = self._written.get(token_id)
            if last is not None and now - last < self.interval:
                return False
            if len(self._written) > 100_000:  # tokens churned: forget the old ones
                self._written.clear()
            self._written[token_id] = now
            return True


USAGE = UsageClock()
