"""Bulk work handed to a job: the typed commands, serialised with a schema version.

A job's payload is one of these commands as JSON (``dump``) and is parsed back on the worker
(``parse``), so a worker sees dates as dates and statuses as statuses, exactly as the request
did. A payload written by an older release is upgraded here or refused with a clear error;
one from a newer release is refused, never half-understood.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from supplytrack.bulk.schemas import BulkFilter, DateChange
from supplytrack.core.errors import SupplyTrackError
from supplytrack.core.identity import Actor
from supplytrack.tasks.enums import TaskStatus

STATUS_JOB = "bulk-status"
DATES_JOB = "bulk-dates"
SCHEMA_VERSION = 1


class JobPayloadError(SupplyTrackError):
    """A job's payload cannot be run by this release."""

    status = 422
    code = "JOB_PAYLOAD_UNSUPPORTED"


class _Command(BaseModel):
    """What every bulk job carries: who asked, for which operation, under which change id."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, frozen=True)

    schema_version: Literal[1] = 1  # SCHEMA_VERSION
    bulk_operation_id: int
    request_id: str | None = None
    change_id: str
    actor: dict[str, Any] = Field(description="Actor.to_payload() of who asked.")

    @property
    def who(self) -> Actor:
        """The actor who asked for the job."""
        return Actor.from_payload(self.actor)

    def dump(self) -> dict[str, Any]:
        """The payload stored with the job (JSON: dates as ISO text)."""
        return self.model_dump(mode="json", by_alias=True)


class StatusJob(_Command):
    """Move instances (the accepted ids, or those a filter matches) to one status."""

    ids: list[int] | None = None
    filter: BulkFilter | None = None
    status: TaskStatus
    reason: str | None = None


class DatesJob(_Command):
    """Apply a date change to the assignments of one or more projects, chunk by chunk."""

    project_ids: list[int]
    change: DateChange


COMMANDS: dict[str, type[_Command]] = {STATUS_JOB: StatusJob, DATES_JOB: DatesJob}


def parse(kind: str, payload: dict[str, Any]) -> StatusJob | DatesJob:
    """The command of a stored payload (upgraded from an older schema version when needed)."""
    command = COMMANDS.get(kind)
    if command is None:
        raise JobPayloadError(f"no job kind {kind!r} in this release")
    version = payload.get("schemaVersion", 0)
    if version == 0:
        payload = _from_version_0(kind, payload)
    elif version != SCHEMA_VERSION:
        raise JobPayloadError(
            f"a {kind} payload of schema version {version!r} cannot be run by this release"
            f" (it reads versions 0 to {SCHEMA_VERSION}); run it with the release that queued it"
        )
    try:
        parsed = command.model_validate(payload)
    except ValidationError as error:
        raise JobPayloadError(
            f"the {kind} payload does not match schema version {SCHEMA_VERSION}: {error}"
        ) from error
    assert isinstance(parsed, StatusJob | DatesJob)
    return parsed


def _from_version_0(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Payloads before schema versions: the same keys, the change and filter in snake_case."""
    upgraded = {
        key: payload.get(key) for key in ("bulkOperationId", "requestId", "changeId", "actor")
    }
    upgraded["schemaVersion"] = SCHEMA_VERSION
    if kind == STATUS_JOB:
        upgraded.update(
            ids=payload.get("ids"),
            filter=_camel(payload["filter"]) if payload.get("filter") else None,
            status=payload.get("status"),
            reason=payload.get("reason"),
        )
        return upgraded
    change = _camel(payload.get("change") or {})
    change["reasonCode"] = change.get("reasonCode") or payload.get("reasonCode")
    change["reason"] = change.get("reason") or payload.get("reason")
    upgraded.update(projectIds=payload.get("projectIds"), change=change)
    return upgraded


def _camel(values: dict[str, Any]) -> dict[str, Any]:
    return {to_camel(key): value for key, value in values.items() if value is not None}
