"""Who is calling: the actor every service and repository is given."""

from __future__ import annotations

from dataclasses import dataclass

from supplytrack.auth.models import Role


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


def system_actor(name: str = "system") -> Actor:
    """The actor of CLI commands, jobs and demo data (acts with admin rights)."""
    return Actor(token_id=None, role=Role.ADMIN, name=name)
