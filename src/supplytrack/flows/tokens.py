"""Creating API tokens: a supplier token is bound to a supplier that exists."""

from __future__ import annotations

from sqlalchemy.orm import Session

from supplytrack.auth.models import ApiToken
from supplytrack.auth.service import TokenService
from supplytrack.core.identity import Role, system_actor
from supplytrack.suppliers.service import SupplierService


def create_token(
    session: Session, name: str, role: Role, supplier_id: int | None
) -> tuple[ApiToken, str]:
    """Create a token (404 when the supplier it is bound to does not exist); shown once."""
    if role == Role.SUPPLIER and supplier_id is not None:
        SupplierService(session, system_actor()).get(supplier_id)
    return TokenService(session).create(name, role, supplier_id)


def create_demo_tokens(session: Session) -> list[tuple[Role, int | None, str]]:
    """Fresh demo tokens: admin, viewer and, when one has work, a supplier."""
    supplier_id = SupplierService(session, system_actor()).first_with_work()
    return TokenService(session).create_demo_tokens(supplier_id)
