"""GET /api/exports/bundle: the signed regulatory bundle of a project or a supplier (admins)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from supplytrack.api.deps import Admin, AppSettings, DbSession
from supplytrack.core.errors import BusinessRuleError
from supplytrack.core.openapi import QueryId, responses
from supplytrack.core.routing import UnitOfWorkRoute
from supplytrack.flows.bundle import BundleWriter, Scope
from supplytrack.reports.files import file_stream

router = APIRouter(prefix="/api/exports", tags=["exports"], route_class=UnitOfWorkRoute)
_ZIP: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        "description": "The bundle: CSV and JSON files, manifest.json and manifest.sig.",
    }
}


@router.get(
    "/bundle", response_class=StreamingResponse, responses={**responses(403, 404, 409, 422), **_ZIP}
)
def export_bundle(
    actor: Admin,
    session: DbSession,
    settings: AppSettings,
    project_id: Annotated[QueryId, Query(alias="projectId", description="This project's.")] = None,
    supplier_id: Annotated[
        QueryId, Query(alias="supplierId", description="This supplier's.")
    ] = None,
) -> StreamingResponse:
    """Instances, full history, audit log, access log and calendars, signed (docs/api.md).

    Exactly one of projectId and supplierId. ``supplytrack export verify`` checks the file.
    409 when AUDIT_SIGNING_KEY is not set.
    """
    if (project_id is None) == (supplier_id is None):
        raise BusinessRuleError(
            "give exactly one of projectId and supplierId", code="EXPORT_SCOPE", status=422
        )
    scope = (
        Scope("project", project_id)
        if project_id is not None
        else Scope("supplier", supplier_id or 0)
    )
    handle, name = tempfile.mkstemp(prefix="supplytrack-bundle-", suffix=".zip")
    os.close(handle)
    try:
        BundleWriter(session, actor, settings).write(scope, Path(name))
    except BaseException:
        os.unlink(name)
        raise
    filename = f"export-{scope.kind}-{scope.id}.zip"
    return StreamingResponse(
        file_stream(name),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
