"""Query parameters of the suppliers list."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from supplytrack.core.pagination import Sort, parse_sort
from supplytrack.suppliers.models import Supplier
from supplytrack.suppliers.repository import SORTABLE


async def supplier_sort(
    sort: Annotated[
        str, Query(max_length=40, description="id, code, name, createdAt, updatedAt; '-' desc.")
    ] = "id",
) -> Sort:
    """The sort order of the suppliers list."""
    return parse_sort(sort, SORTABLE, Supplier.id)
