"""Which projects an actor may see: staff see all, a supplier those it is assigned to."""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, true

from supplytrack.core.identity import Actor
from supplytrack.projects.models import Project
from supplytrack.suppliers.models import SupplierProject


def visible_projects(actor: Actor) -> ColumnElement[bool]:
    """The condition on ``projects`` rows that ``actor`` may see."""
    if actor.is_supplier:
        return exists().where(
            SupplierProject.project_id == Project.id,
            SupplierProject.supplier_id == actor.supplier_id,
        )
    return true()
