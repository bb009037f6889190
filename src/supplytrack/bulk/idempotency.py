"""Idempotency-Key on bulk POSTs: a retry with the same key and body gets the first answer."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from sqlalchemy.orm import Session

from supplytrack.bulk.exceptions import IdempotencyKeyReused
from supplytrack.bulk.models import IdempotencyKey
from supplytrack.bulk.repository import BulkRepository
from supplytrack.core.identity import Actor


class Idempotency:
    """The stored first answer of one (actor, key), or the means to store it."""

    def __init__(
        self, session: Session, actor: Actor, key: str | None, method: str, path: str, body: Any
    ) -> None:
        self.repository = BulkRepository(session)
        self.actor = actor
        # CLI actors have no token and so no key space.
        self.key = key if actor.token_id is not None else None
        self.method = method
        self.path = path
        self.digest = hashlib.sha256(
            orjson.dumps(body, option=orjson.OPT_SORT_KEYS, default=str)
        ).hexdigest()

    def replay(self) -> tuple[int, dict[str, Any]] | None:
        """The first answer to this key (422 when the key came with another request)."""
        if self.key is None or self.actor.token_id is None:
            return None
        row = self.repository.idempotency(self.actor.token_id, self.key)
        if row is None:
            return None
        if (row.body_digest, row.path, row.method) != (self.digest, self.path, self.method):
            raise IdempotencyKeyReused
        return row.status_code, row.response

    def remember(self, status_code: int, response: dict[str, Any]) -> None:
        """Store the answer in the same transaction as the change it describes."""
        if self.key is None or self.actor.token_id is None:
            return
        self.repository.remember(
            IdempotencyKey(
                actor_id=self.actor.token_id,
                key=self.key,
                method=self.method,
                path=self.path,
                body_digest=self.digest,
                status_code=status_code,
                response=response,
            )
        )
