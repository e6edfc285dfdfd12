"""REST API: usage events, consume, gauges and usage reads (SPEC §13)."""

from __future__ import annotations

from datetime import UTC, date
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router
from pydantic import BaseModel, ConfigDict, StringConstraints, TypeAdapter, ValidationError

from partnerhub.accounts.api_auth import ApiKeyAuth, HubSessionAuth, actor_of, key_lookup_extra
from partnerhub.accounts.authentication import KeyLookupExtra
from partnerhub.core.caching import prevalidated_json
from partnerhub.core.schemas import (
    WRITE_ERRORS,
    InputSchema,
    IsoDate,
    IsoDatetime,
    Key,
    ObjectId,
    OutputSchema,
    responses,
)
from partnerhub.usage.lookup import company_limit_sql, company_sql
from partnerhub.usage.models import MAX_QUANTITY
from partnerhub.usage.selectors import company_usage
from partnerhub.usage.services import (
    MAX_BATCH,
    MAX_EVENT_ID_LENGTH,
    UsageEventInput,
    usage_consume,
    usage_events_record_parsed,
    usage_gauge_set,
)

router = Router(tags=["usage"])

_OBJECT_ID: TypeAdapter[int] = TypeAdapter(ObjectId)
_KEY: TypeAdapter[str] = TypeAdapter(Key)


class _UsageKeyAuth(ApiKeyAuth):
    """The bearer-key check, reading what the endpoint needs of the company (and of the
    limit, for a consume) in the key lookup's own statement: the consume and the usage
    read then cost one round trip before their own (docs/benchmarks.md). The scope check
    stays in `usage_company_get`; a path that does not parse leaves the usual lookups."""

    with_limit = False

    def lookup_extra(self, request: HttpRequest) -> KeyLookupExtra | None:
        kwargs = request.resolver_match.kwargs if request.resolver_match else {}
        try:
            company_id = _OBJECT_ID.validate_python(kwargs.get("company_id"))
            if not self.with_limit:
                return KeyLookupExtra(sql=company_sql(), params=(company_id,))
            limit = _KEY.validate_python(kwargs.get("limit"))
        except ValidationError:
            return None  # not an id or key: the parameter's own validation answers
        return KeyLookupExtra(sql=company_limit_sql(), params=(limit, company_id))


class _ConsumeKeyAuth(_UsageKeyAuth):
    with_limit = True


EventId = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_EVENT_ID_LENGTH, pattern=r"^[^\x00]*$")
]
# Metered events take 1..10^12; gauge events move the count by ±10^12 (never 0). The
# service checks which applies, since it depends on the limit's kind.
EventQuantity = Annotated[int, Field(ge=-MAX_QUANTITY, le=MAX_QUANTITY)]


class UsageEventIn(BaseModel):
    """One event. A plain pydantic model, not a ninja Schema: ninja wraps every Schema's
    validation in a Python validator (for ORM objects), which for 1,000 nested events cost
    more than validating them (docs/benchmarks.md). Same rules as `InputSchema`."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: EventId
    company_id: ObjectId
    limit: Key
    quantity: EventQuantity
    timestamp: IsoDatetime


class UsageEventsIn(InputSchema):
    events: list[UsageEventIn] = Field(min_length=1, max_length=MAX_BATCH)


class UsageEventsOut(OutputSchema):
    accepted: int
    duplicates: int


class LimitUsageOut(OutputSchema):
    kind: Literal["metered", "gauge", "cap"]
    value: int | None
    used: int | None
    remaining: int | None
    over: bool


class ConsumeOut(LimitUsageOut):
    allowed: bool


class UsageOut(OutputSchema):
    company_id: int
    period_start: date
    period_end: date
    limits: dict[str, LimitUsageOut]


class ConsumeIn(InputSchema):
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY)]
    id: EventId | None = None


class GaugeIn(InputSchema):
    value: Annotated[int, Field(ge=0, le=MAX_QUANTITY)]


class UsageQuery(InputSchema):
    period_start: IsoDate | None = Field(
        default=None, description="A day of the past period to read (default: today)."
    )


@router.post("/usage/events", response=responses({200: UsageEventsOut}, WRITE_ERRORS))
def record_usage_events(request: HttpRequest, payload: UsageEventsIn) -> dict[str, Any]:
    """Record what already happened: 1 to 1000 events, all or nothing, deduplicated by id."""
    events = [
        UsageEventInput(
            index=index,
            event_id=e.id,
            company_id=e.company_id,
            limit_key=e.limit,
            quantity=e.quantity,
            timestamp=e.timestamp.astimezone(UTC),
        )
        for index, e in enumerate(payload.events)
    ]
    result = usage_events_record_parsed(actor=actor_of(request), events=events)
    return {"accepted": result.accepted, "duplicates": result.duplicates}


@router.post(
    "/companies/{company_id}/usage/{limit}/consume",
    response=responses({200: ConsumeOut}, WRITE_ERRORS),
    auth=[_ConsumeKeyAuth(), HubSessionAuth()],
)
def consume_usage(
    request: HttpRequest, company_id: ObjectId, limit: Key, payload: ConsumeIn
) -> HttpResponse:
    """Ask before using: `allowed` says whether the quantity fit (and was recorded)."""
    result = usage_consume(
        actor=actor_of(request),
        company_id=company_id,
        limit_key=limit,
        quantity=payload.quantity,
        request_id=payload.id,
        company_row=key_lookup_extra(request),
    )
    return prevalidated_json(request, result)  # ConsumeOut's shape (a test holds it)


@router.put(
    "/companies/{company_id}/usage/{limit}",
    response=responses({200: LimitUsageOut}, WRITE_ERRORS),
)
def set_gauge(
    request: HttpRequest, company_id: ObjectId, limit: Key, payload: GaugeIn
) -> dict[str, Any]:
    """Set a gauge limit's current count."""
    return usage_gauge_set(
        actor=actor_of(request), company_id=company_id, limit_key=limit, value=payload.value
    )


@router.get(
    "/companies/{company_id}/usage",
    response=responses({200: UsageOut}),
    auth=[_UsageKeyAuth(), HubSessionAuth()],
)
def get_usage(request: HttpRequest, company_id: ObjectId, query: Query[UsageQuery]) -> HttpResponse:
    """What the company used of each limit in its current (or a past) usage period."""
    usage = company_usage(
        actor_of(request), company_id, on=query.period_start, company_row=key_lookup_extra(request)
    )
    return prevalidated_json(request, usage)  # UsageOut's shape (a test holds it)
