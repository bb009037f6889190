"""Errors of the auth domain."""

from __future__ import annotations

from supplytrack.core.errors import Forbidden, Unauthorized


class InvalidToken(Unauthorized):
    """No bearer token, or one that is unknown or revoked."""

    def __init__(self) -> None:
        super().__init__(
            "a valid bearer token is required (Authorization: Bearer <token>)",
            headers={"WWW-Authenticate": "Bearer"},
        )


class RoleForbidden(Forbidden):
    """The token's role may not call this."""

    def __init__(self, role: str, allowed: list[str]) -> None:
        super().__init__(
            f"the {role} role may not do this; allowed roles: {', '.join(allowed)}",
            details=[{"role": role, "allowedRoles": allowed}],
        )


class SupplierNotActive(Forbidden):
    """A supplier token whose supplier is SUSPENDED or INACTIVE: refused until it is ACTIVE."""

    code = "SUPPLIER_NOT_ACTIVE"

    def __init__(self, supplier_id: int, status: str) -> None:
        super().__init__(
            f"supplier {supplier_id} is {status}: its tokens are refused until it is ACTIVE",
            details=[{"supplierId": supplier_id, "status": status}],
        )
