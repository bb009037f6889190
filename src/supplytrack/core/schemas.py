"""Pydantic bases: camelCase over the wire, strict and closed on writes, and Page[T]."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Generic, TypeVar

import orjson
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError
from starlette.responses import Response

from supplytrack.core.time import FIRST_DAY, LAST_DAY, in_day_range

T = TypeVar("T")


class ReadModel(BaseModel):
    """What the API answers: camelCase, built from ORM objects or rows."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        from_attributes=True,
    )


# Control characters (Unicode Cc) other than tab and newline: no text field needs them, they
# hide text in logs and exports, and PostgreSQL cannot store NUL at all.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def control_character_error(value: str) -> str | None:
    """Why ``value`` is refused (its first control character), or None when it is clean."""
    found = CONTROL_CHARACTERS.search(value)
    if found is None:
        return None
    return (
        f"text must not contain control characters (U+{ord(found.group()):04X} at"
        f" {found.start()}); tab and newline are allowed"
    )


def _refuse_controls(value: Any) -> Any:
    """Refuse control characters anywhere in a body (see CONTROL_CHARACTERS)."""
    if isinstance(value, str):
        problem = control_character_error(value)
        if problem is not None:
            raise ValueError(problem)
    elif isinstance(value, dict):
        for item in value.values():
            _refuse_controls(item)
    elif isinstance(value, list):
        for item in value:
            _refuse_controls(item)
    return value


class WriteModel(BaseModel):
    """What the API accepts: camelCase only, unknown fields refused.

    FastAPI validates the decoded JSON in Python mode, where pydantic's strict mode would refuse
    ISO date strings; so exactness is per type instead: StrictInt ids and numbers, dates only
    from ``YYYY-MM-DD`` strings (see IsoDate), booleans only from true/false.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=False,
        validate_by_alias=True,
        serialize_by_alias=False,
        extra="forbid",
        str_strip_whitespace=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _no_controls(cls, data: Any) -> Any:
        return _refuse_controls(data)


class Page(ReadModel, Generic[T]):
    """One page of a list and the cursor of the next (null on the last page)."""

    items: list[T] = Field(description="The rows of this page.")
    next_cursor: str | None = Field(
        None, description="Opaque cursor for the next page; absent on the last page."
    )


# Reusable field types (lengths keep a 10,000-character string out of the database).
Code = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$"),
]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=10_000)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=2_000)]
Capability = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
]


def _iso_date(value: object) -> object:
    if isinstance(value, date):
        day = value
    elif not isinstance(value, str) or not _ISO_DATE.match(value):
        msg = "must be a date written YYYY-MM-DD"
        raise ValueError(msg)
    else:
        day = date.fromisoformat(value)  # raises for 2026-02-30
    if not in_day_range(day):
        raise PydanticCustomError(
            DATE_OUT_OF_RANGE,
            "must lie between {first} and {last}",
            {"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()},
        )
    return day


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The error type (and the envelope's code) of a day outside FIRST_DAY..LAST_DAY.
DATE_OUT_OF_RANGE = "DATE_OUT_OF_RANGE"
IsoDate = Annotated[date, BeforeValidator(_iso_date)]

_ISO_INSTANT = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}:\d{2})?$"
)


def _iso_instant(value: object) -> object:
    """An instant written in ISO 8601 (a date alone is its midnight; no zone means UTC)."""
    if isinstance(value, datetime):
        moment = value
    elif not isinstance(value, str) or not _ISO_INSTANT.match(value):
        msg = "must be an instant written YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM]"
        raise ValueError(msg)
    else:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not in_day_range(moment.date()):
        raise PydanticCustomError(
            DATE_OUT_OF_RANGE,
            "must lie between {first} and {last}",
            {"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()},
        )
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


IsoInstant = Annotated[datetime, BeforeValidator(_iso_instant)]

# Ids fit PostgreSQL's INTEGER; a larger one can name nothing (and must not reach the driver).
MAX_ID = 2_147_483_647
BodyId = Annotated[int, Strict(), Field(ge=1, le=MAX_ID)]
WholeNumber = Annotated[int, Strict()]
ShiftAmount = Annotated[int, Strict(), Field(ge=-3650, le=3650)]
Flag = Annotated[bool, Strict()]


class ErrorDetail(BaseModel):
    """The error itself."""

    code: str = Field(description="Stable machine-readable code, e.g. NOT_FOUND.")
    message: str = Field(description="What went wrong, for people.")
    details: list[object] = Field(description="Structured specifics (fields, instances, ...).")
    request_id: str | None = Field(alias="requestId", description="Quote it when asking.")


class ErrorEnvelope(BaseModel):
    """Every error answer has this one shape."""

    error: ErrorDetail = Field(description="What went wrong.")


def changes_of(update: BaseModel) -> dict[str, object]:
    """The fields a client actually sent in a partial update, by attribute name."""
    return {name: getattr(update, name) for name in update.model_fields_set}


def json_response(content: object, headers: dict[str, str] | None = None) -> Response:
    """JSON bytes as pydantic would write them (UTC as 'Z'), for rows that need no validation.

    The hot reads build their answers from trusted database rows; validating each of 50 rows
    through a model just to serialise it again cost about 40 % of a list request.
    """
    return Response(
        orjson.dumps(content, option=orjson.OPT_UTC_Z),
        media_type="application/json",
        headers=headers,
    )


W = TypeVar("W", bound=BaseModel)


def full_update(body: BaseModel, update: type[W]) -> W:
    """A PUT body as the partial-update command with every field given (it replaces them all)."""
    return update.model_construct(_fields_set=set(type(body).model_fields), **dict(body))
