"""Query parameters of the task-instance list."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from supplytrack.core.openapi import QueryId
from supplytrack.core.pagination import Sort, parse_sort
from supplytrack.core.schemas import IsoDate
from supplytrack.tasks.enums import TaskStatus
from supplytrack.tasks.models import TaskInstance
from supplytrack.tasks.repository import SORTABLE, TaskFilter


async def task_sort(
    sort: Annotated[
        str,
        Query(max_length=40, description="id, actualDue, status, createdAt, updatedAt; '-' desc."),
    ] = "id",
) -> Sort:
    """The sort order of the instance list."""
    return parse_sort(sort, SORTABLE, TaskInstance.id)


async def task_filter(
    project_id: Annotated[
        QueryId, Query(alias="projectId", description="Only of this project.")
    ] = None,
    supplier_id: Annotated[
        QueryId, Query(alias="supplierId", description="Only of this supplier.")
    ] = None,
    supplier_project_id: Annotated[
        QueryId, Query(alias="supplierProjectId", description="Only of this assignment.")
    ] = None,
    task_template_id: Annotated[
        QueryId, Query(alias="taskTemplateId", description="Only of this milestone.")
    ] = None,
    status: Annotated[
        list[TaskStatus] | None, Query(max_length=7, description="One or more statuses.")
    ] = None,
    overdue: Annotated[bool | None, Query(description="Only (or no) overdue instances.")] = None,
    due_before: Annotated[
        IsoDate | None, Query(alias="dueBefore", description="actualDue < this date.")
    ] = None,
    due_after: Annotated[
        IsoDate | None, Query(alias="dueAfter", description="actualDue > this date.")
    ] = None,
) -> TaskFilter:
    """The filters of the instance list."""
    return TaskFilter(
        project_id=project_id,
        supplier_id=supplier_id,
        supplier_project_id=supplier_project_id,
        task_template_id=task_template_id,
        statuses=tuple(sorted(set(status or ()))),
        overdue=overdue,
        due_before=due_before,
        due_after=due_after,
    )
