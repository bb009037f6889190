"""Query parameters of the projects list."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from supplytrack.core.pagination import Sort, parse_sort
from supplytrack.projects.models import Project
from supplytrack.projects.repository import SORTABLE


async def project_sort(
    sort: Annotated[
        str, Query(max_length=40, description="id, code, name, createdAt, updatedAt; '-' desc.")
    ] = "id",
) -> Sort:
    """The sort order of the projects list."""
    return parse_sort(sort, SORTABLE, Project.id)
