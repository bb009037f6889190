"""Query parameters of the templates list."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from supplytrack.core.pagination import Sort, parse_sort
from supplytrack.templates.models import TaskTemplate
from supplytrack.templates.repository import SORTABLE


async def template_sort(
    sort: Annotated[
        str, Query(max_length=40, description="id, sequence, canonicalDue, name; '-' desc.")
    ] = "sequence",
) -> Sort:
    """The sort order of the templates list."""
    return parse_sort(sort, SORTABLE, TaskTemplate.id)
