"""Who is calling: the role of a token and the actor every service and repository is given."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class Role(enum.StrEnum):
    """What a token may do (SPEC section 4)."""

    ADMIN = "admin"
    MANAGER = "manager"
    VIEWER = "viewer"
    SUPPLIER = "supplier"


@dataclass(frozen=True, slots=True)
class Actor:
    """The caller: a token's id, role and (for supplier tokens) the supplier it is bound to."""

    token_id: int | None
    role: Role
    name: str
    supplier_id: int | None = None

    @property
    def is_supplier(self) -> bool:
        """Whether this actor sees only its own supplier's data."""
        return self.role == Role.SUPPLIER

    @property
    def label(self) -> str:
        """How the audit trail names this actor."""
        return f"{self.role.value}:{self.name}"

    def to_payload(self) -> dict[str, Any]:
        """The actor as plain JSON (how a job remembers who asked for it)."""
        return {
            "tokenId": self.token_id,
            "role": self.role.value,
            "name": self.name,
            "supplierId": self.supplier_id,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Actor:
        """The actor written by :meth:`to_payload`."""
        return cls(
            payload["tokenId"], Role(payload["role"]), payload["name"], payload.get("supplierId")
        )


def system_actor(name: str = "system") -> Actor:
    """The actor of CLI commands, jobs and demo data (acts with admin rights)."""
    return Actor(token_id=None, role=Role.ADMIN, name=name)
