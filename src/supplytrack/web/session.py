"""The web app's session cookie: signed, expiring, carrying the token's digest and a CSRF secret.

The cookie never holds the API token itself, only the SHA-256 digest the tokens table keeps,
so a session is resolved by the same lookup as a bearer token: a revoked or expired token, or
a suspended supplier, ends every session made with it on the very next page. The cookie is
signed with HMAC-SHA256 (WEB_SESSION_KEY); it ends WEB_SESSION_HOURS after sign-in, or after
WEB_SESSION_IDLE_MINUTES without a page. Sign-out deletes it from the browser.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass, replace

import orjson

from supplytrack.core.settings import Settings

log = logging.getLogger("supplytrack.web")

SESSION_COOKIE = "st_session"
SIGNIN_COOKIE = "st_signin"  # the sign-in form's own CSRF secret (double submit)
REFRESH_SECONDS = 60  # re-issue the cookie (its idle clock) at most this often
_PROCESS_KEY = secrets.token_bytes(32)  # when WEB_SESSION_KEY is unset (serve sets one)


@dataclass(frozen=True)
class WebSession:
    """What a valid session cookie says."""

    digest: str  # the token's SHA-256, as the tokens table keeps it
    csrf: str  # the secret every form of this session sends back
    issued: float  # sign-in, seconds since the epoch
    seen: float  # the last page, seconds since the epoch

    def touched(self, now: float) -> WebSession:
        """The same session seen now."""
        return replace(self, seen=now)

    def stale(self, now: float) -> bool:
        """Whether the idle clock should be reset in the browser (re-issue the cookie)."""
        return now - self.seen >= REFRESH_SECONDS


def _key(settings: Settings) -> bytes:
    if settings.web_session_key is None:
        return _PROCESS_KEY
    return settings.web_session_key.get_secret_value().encode()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(settings: Settings, payload: str) -> str:
    mac = hmac.new(_key(settings), b"supplytrack-web-session|" + payload.encode(), hashlib.sha256)
    return _b64(mac.digest())


def new_session(digest: str, now: float) -> WebSession:
    """A fresh session for the token with this digest."""
    return WebSession(digest=digest, csrf=secrets.token_urlsafe(24), issued=now, seen=now)


def encode(settings: Settings, session: WebSession) -> str:
    """The cookie's value: payload.signature."""
    payload = _b64(
        orjson.dumps(
            {"d": session.digest, "c": session.csrf, "i": session.issued, "s": session.seen}
        )
    )
    return f"{payload}.{_signature(settings, payload)}"


def decode(settings: Settings, value: str | None, now: float) -> WebSession | None:
    """The session a cookie carries, or None if it is missing, forged, malformed or expired."""
    if not value or len(value) > 1024 or value.count(".") != 1:
        return None
    payload, signature = value.split(".")
    if not hmac.compare_digest(signature, _signature(settings, payload)):
        return None
    try:
        data = orjson.loads(_unb64(payload))
        session = WebSession(
            digest=str(data["d"]),
            csrf=str(data["c"]),
            issued=float(data["i"]),
            seen=float(data["s"]),
        )
    except (ValueError, KeyError, TypeError):
        return None
    if now - session.issued > settings.web_session_hours * 3600:
        return None
    if now - session.seen > settings.web_session_idle_minutes * 60:
        return None
    return session


def same_secret(sent: str | None, expected: str) -> bool:
    """Whether a form sent this session's CSRF secret (in constant time)."""
    return bool(sent) and hmac.compare_digest(str(sent).encode(), expected.encode())


def secure_cookie(settings: Settings, scheme: str) -> bool:
    """Whether cookies get the Secure attribute (WEB_COOKIE_SECURE)."""
    if settings.web_cookie_secure == "auto":
        return scheme == "https"
    return settings.web_cookie_secure == "true"
