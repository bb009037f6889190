"""Creating API tokens: a supplier token is bound to a supplier that exists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from supplytrack.auth.models import ApiToken
from supplytrack.auth.service import TokenService
from supplytrack.core.identity import Actor, Role, system_actor
from supplytrack.core.pagination import parse_sort
from supplytrack.core.settings import Settings
from supplytrack.core.time import today
from supplytrack.suppliers.service import SupplierService
from supplytrack.tasks.enums import TaskStatus
from supplytrack.tasks.models import TaskInstance
from supplytrack.tasks.repository import TaskFilter
from supplytrack.tasks.service import TaskService


def create_token(
    session: Session,
    name: str,
    role: Role,
    supplier_id: int | None,
    expires_in: timedelta | None = None,
    actor: Actor | None = None,
) -> tuple[ApiToken, str]:
    """Create a token (404 when the supplier it is bound to does not exist); shown once."""
    if role == Role.SUPPLIER and supplier_id is not None:
        SupplierService(session, system_actor()).get(supplier_id)
    return TokenService(session, actor).create(name, role, supplier_id, expires_in)


@dataclass(frozen=True, slots=True)
class DemoTokens:
    """Fresh demo tokens, and an instance to try a first PATCH on."""

    tokens: list[tuple[Role, int | None, str]]
    supplier_name: str | None
    # A NOT_STARTED instance of that supplier (id, version), when there is one.
    tour_instance: tuple[int, int] | None


def create_demo_tokens(session: Session, settings: Settings) -> DemoTokens:
    """Revoke earlier demo tokens; a manager, admin, viewer and (with work) supplier token."""
    actor = system_actor()
    suppliers = SupplierService(session, actor)
    supplier_id = suppliers.first_with_work()
    tokens = TokenService(session).create_demo_tokens(supplier_id)
    if supplier_id is None:
        return DemoTokens(tokens, None, None)
    rows = TaskService(session, actor).page(
        TaskFilter(supplier_id=supplier_id, statuses=(TaskStatus.NOT_STARTED,)),
        today(settings.app_timezone),
        sort=parse_sort("id", {"id": TaskInstance.id}, TaskInstance.id),
        cursor=None,
        limit=1,
    )
    first = (int(rows[0].id), int(rows[0].version)) if rows else None
    return DemoTokens(tokens, suppliers.get(supplier_id).name, first)
