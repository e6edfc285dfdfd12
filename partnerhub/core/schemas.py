"""Types and schemas shared by every router: ids, text, money, fee entries, pages, errors.

Request schemas forbid unknown fields (SPEC §12: an unknown field is a 422) and
bound every value to what the database can store, so no client input reaches a
service as something the database would reject with a 500.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
)

from partnerhub.core.limits import MAX_LIMIT_VALUE, MAX_PRICE_MINOR
from partnerhub.core.validation import EMAIL_MAX_LENGTH, KEY_MAX_LENGTH

# The largest value a BIGINT primary key (and SQLite's INTEGER) can hold.
MAX_DB_INT = 2**63 - 1
# Amounts are bounded so that price * 10000 bps still fits a BIGINT in the SQL fee rule.
MAX_MINOR = MAX_PRICE_MINOR  # minor units
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50
MAX_OFFSET = 2**31 - 1

_NO_NUL = r"^[^\x00]*$"
_KEY = r"^[-a-zA-Z0-9_]+$"
_CURRENCY = r"^[A-Za-z]{3}$"
# What a client is told when a value does not match one of the patterns above.
PATTERN_MESSAGES = {
    _NO_NUL: "must not contain NUL characters",
    _KEY: "must be a key: letters, digits, '-' and '_'",
    _CURRENCY: "must be a three-letter ISO 4217 currency code",
}


def _valid_unicode(value: str) -> str:
    # Lone surrogates parse as JSON but cannot be stored as UTF-8.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def bounded(max_length: int, *, min_length: int = 0) -> StringConstraints:
    """Constraints of a string the database accepts; use with VALID_UNICODE:
    `Annotated[str, bounded(120), VALID_UNICODE]`."""
    return StringConstraints(min_length=min_length, max_length=max_length, pattern=_NO_NUL)


VALID_UNICODE = AfterValidator(_valid_unicode)

ObjectId = Annotated[int, Field(ge=1, le=MAX_DB_INT)]
Key = Annotated[str, StringConstraints(min_length=1, max_length=KEY_MAX_LENGTH, pattern=_KEY)]
CurrencyCode = Annotated[str, StringConstraints(pattern=_CURRENCY)]
Bps = Annotated[int, Field(ge=0, le=10_000)]  # basis points: 10000 = 100 %
MinorUnits = Annotated[int, Field(ge=0, le=MAX_MINOR)]  # minor units
LimitValue = Annotated[int, Field(ge=0, le=MAX_LIMIT_VALUE)] | None  # None = unlimited
FeeApplyMode = Literal["all", "new"]
Email = Annotated[str, bounded(EMAIL_MAX_LENGTH), VALID_UNICODE]
Description = Annotated[str, bounded(2000), VALID_UNICODE]
SearchText = Annotated[str, bounded(200), VALID_UNICODE]


def _no_default_in_schema(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def omitted(**field_options: Any) -> Any:
    """An optional request field that is not nullable: leave it out to keep the current value.

    `null` is then a 422 instead of reaching a service as a surprise; handlers pass
    only the fields a client sent (`model_dump(exclude_unset=True)`).
    """
    return Field(default=None, json_schema_extra=_no_default_in_schema, **field_options)


class OutputSchema(BaseModel):
    """Base of every response body. Handlers return plain dicts (the selectors' shapes), so
    plain pydantic validates them — without ninja's per-object ORM getter, which costs
    milliseconds on a page of 50 plans."""


class InputSchema(Schema):
    """Base of every request body: an unknown field is an error naming it."""

    # strict: JSON types as sent, never coerced — `true` is not an id, `"12"` is not a number,
    # `0` is not a boolean (a client bug is a 422, not a silent guess).
    model_config = ConfigDict(extra="forbid", strict=True)


def _iso_text(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 string")
    return value


# Dates and times travel as ISO 8601 text in JSON and in query strings: strict mode would
# refuse the text, lax mode would also take a number; these take the text and only the text.
IsoDate = Annotated[date, BeforeValidator(_iso_text), Field(strict=False)]
IsoDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_text), Field(strict=False)]


class PageParams(Schema):
    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class FeeEntryIn(InputSchema):
    currency: CurrencyCode
    fee_type: Key
    percent_bps: Bps
    fixed_minor: MinorUnits = 0
    min_minor: MinorUnits | None = None
    max_minor: MinorUnits | None = None


class FeeEntryOut(OutputSchema):
    currency: str
    fee_type: str
    percent_bps: int  # basis points
    fixed_minor: int  # minor units
    min_minor: int | None  # minor units
    max_minor: int | None  # minor units


class FeeApplyIn(InputSchema):
    fee_apply_mode: FeeApplyMode | None = None


class ErrorBody(OutputSchema):
    code: str
    message: str
    details: dict[str, Any] | None


class ErrorOut(OutputSchema):
    error: ErrorBody


# The error statuses an operation can answer, in the error shape.
READ_ERRORS = (401, 403, 404, 422)
WRITE_ERRORS = (400, 401, 403, 404, 409, 422)


def responses(ok: dict[int, Any], errors: tuple[int, ...] = READ_ERRORS) -> dict[int, Any]:
    """The success response(s) plus the error statuses, all documented in the OpenAPI."""
    return {**ok, **dict.fromkeys(errors, ErrorOut)}


class JobRef(OutputSchema):
    job_id: int | None = None


def operation_id(module: str, function: str) -> str:
    """The operationId ninja gives a handler (`partnerhub_plans_api_get_plan`)."""
    return f"{module.replace('.', '_')}_{function}"


def links(parameter: str, module: str, *functions: str) -> dict[str, Any]:
    """OpenAPI links from a response's `id` to the operations taking it as `parameter`."""
    return {
        operation_id(module, fn): {
            "operationId": operation_id(module, fn),
            "parameters": {parameter: "$response.body#/id"},
        }
        for fn in functions
    }


def response_links(status: int, *groups: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` attaching links to a response: clients (and schemathesis' stateful
    tests) follow them — create a plan, then read, edit, archive… that very plan."""
    merged: dict[str, Any] = {}
    for group in groups:
        merged.update(group)
    # ninja keys responses by int status while it builds the document.
    return {"responses": {status: {"links": merged}}}
