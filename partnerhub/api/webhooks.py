"""REST API: webhook endpoints, deliveries and the event log (SPEC §14).

Tenancy per SPEC §1: a reseller's admin manages its endpoints, its viewer reads them,
another reseller's endpoint, delivery or event answers 404 like a missing one, and a
company key may not read webhooks at all. An endpoint's `secret` is in the answer that
created or rotated it and nowhere else.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Status

from partnerhub.accounts.api_auth import actor_of
from partnerhub.core.pagination import paginate
from partnerhub.core.schemas import (
    VALID_UNICODE,
    WRITE_ERRORS,
    InputSchema,
    IsoDatetime,
    ObjectId,
    OutputSchema,
    PageParams,
    bounded,
    links,
    omitted,
    response_links,
    responses,
)
from partnerhub.webhooks.models import (
    ENDPOINT_DESCRIPTION_MAX_LENGTH,
    ENDPOINT_URL_MAX_LENGTH,
    EVENT_TYPE_MAX_LENGTH,
)
from partnerhub.webhooks.selectors import (
    delivery_get_for_actor,
    delivery_list_for_actor,
    delivery_serialize,
    endpoint_get_for_actor,
    endpoint_list_for_actor,
    endpoint_serialize,
    event_get_for_actor,
    event_list_for_actor,
    event_serialize,
)
from partnerhub.webhooks.services import (
    delivery_resend,
    delivery_resend_failed,
    endpoint_create,
    endpoint_delete,
    endpoint_rotate_secret,
    endpoint_send_test,
    endpoint_update,
)

router = Router(tags=["webhooks"])

Url = Annotated[str, bounded(ENDPOINT_URL_MAX_LENGTH, min_length=1), VALID_UNICODE]
EventType = Annotated[str, bounded(EVENT_TYPE_MAX_LENGTH, min_length=1), VALID_UNICODE]
EndpointDescription = Annotated[str, bounded(ENDPOINT_DESCRIPTION_MAX_LENGTH), VALID_UNICODE]
DeliveryStatus = Literal["pending", "succeeded", "failed"]


class EndpointOut(OutputSchema):
    id: int
    reseller_id: int | None  # null: a platform endpoint, hearing every reseller's events
    url: str
    description: str
    event_types: list[str]  # empty: every event type
    enabled: bool
    disabled_reason: str
    created_at: datetime
    updated_at: datetime


class EndpointWithSecretOut(EndpointOut):
    secret: str  # `whsec_…`, shown in this answer only


class EndpointPage(OutputSchema):
    items: list[EndpointOut]
    count: int


class EndpointIn(InputSchema):
    url: Url
    # The caller's reseller by default; a platform key names one, or leaves it out for a
    # platform endpoint.
    reseller_id: ObjectId | None = None
    description: EndpointDescription = ""
    event_types: list[EventType] = Field(default_factory=list, max_length=50)
    enabled: bool = True


class EndpointPatch(InputSchema):
    url: Url = omitted()
    description: EndpointDescription = omitted()
    event_types: list[EventType] = omitted(max_length=50)
    enabled: bool = omitted()


class EndpointFilters(PageParams):
    reseller_id: ObjectId | None = None


class DeliveryOut(OutputSchema):
    id: int
    endpoint_id: int
    event_id: int
    event_type: str
    webhook_id: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_response_code: int | None
    last_error: str
    created_at: datetime


class DeliveryPage(OutputSchema):
    items: list[DeliveryOut]
    count: int


class DeliveryFilters(PageParams):
    endpoint_id: ObjectId | None = None
    status: DeliveryStatus | None = None
    event_type: EventType | None = None


class ResendFailedIn(InputSchema):
    since: IsoDatetime


class ResendCount(OutputSchema):
    resent: int


class EventOut(OutputSchema):
    id: int
    webhook_id: str
    type: str
    reseller_id: int | None
    created_at: datetime
    data: dict[str, Any]


class EventPage(OutputSchema):
    items: list[EventOut]
    count: int


class EventFilters(PageParams):
    type: EventType | None = None
    since: datetime | None = None  # events created after this instant, oldest first


ENDPOINT_LINKS = links(
    "endpoint_id",
    __name__,
    "get_webhook_endpoint",
    "update_webhook_endpoint",
    "rotate_webhook_secret",
    "test_webhook_endpoint",
)


@router.get("/webhook-endpoints", response=responses({200: EndpointPage}))
def list_webhook_endpoints(request: HttpRequest, filters: Query[EndpointFilters]) -> dict[str, Any]:
    endpoints = endpoint_list_for_actor(actor_of(request), reseller_id=filters.reseller_id)
    return paginate(endpoints, filters, endpoint_serialize)


@router.post(
    "/webhook-endpoints",
    response=responses({201: EndpointWithSecretOut}, WRITE_ERRORS),
    openapi_extra=response_links(201, ENDPOINT_LINKS),
)
def create_webhook_endpoint(request: HttpRequest, payload: EndpointIn) -> Status[dict[str, Any]]:
    """The answer carries the signing secret; it is never shown again."""
    actor = actor_of(request)
    data = payload.model_dump()
    if data["reseller_id"] is None and not actor.is_platform:
        data["reseller_id"] = actor.reseller_id
    created = endpoint_create(actor=actor, **data)
    return Status(201, endpoint_serialize(created.endpoint, secret=created.secret))


@router.get("/webhook-endpoints/{endpoint_id}", response=responses({200: EndpointOut}))
def get_webhook_endpoint(request: HttpRequest, endpoint_id: ObjectId) -> dict[str, Any]:
    return endpoint_serialize(endpoint_get_for_actor(actor_of(request), endpoint_id))


@router.patch(
    "/webhook-endpoints/{endpoint_id}", response=responses({200: EndpointOut}, WRITE_ERRORS)
)
def update_webhook_endpoint(
    request: HttpRequest, endpoint_id: ObjectId, payload: EndpointPatch
) -> dict[str, Any]:
    endpoint = endpoint_update(
        actor=actor_of(request),
        endpoint_id=endpoint_id,
        changes=payload.model_dump(exclude_unset=True),
    )
    return endpoint_serialize(endpoint)


@router.delete(
    "/webhook-endpoints/{endpoint_id}", response=responses({200: EndpointOut}, WRITE_ERRORS)
)
def delete_webhook_endpoint(request: HttpRequest, endpoint_id: ObjectId) -> dict[str, Any]:
    """Delete the endpoint and its delivery log; answers what was deleted."""
    return endpoint_serialize(endpoint_delete(actor=actor_of(request), endpoint_id=endpoint_id))


@router.post(
    "/webhook-endpoints/{endpoint_id}/rotate-secret",
    response=responses({200: EndpointWithSecretOut}, WRITE_ERRORS),
)
def rotate_webhook_secret(request: HttpRequest, endpoint_id: ObjectId) -> dict[str, Any]:
    """A new secret (in this answer only); the old one keeps signing beside it for 24 h."""
    rotated = endpoint_rotate_secret(actor=actor_of(request), endpoint_id=endpoint_id)
    return endpoint_serialize(rotated.endpoint, secret=rotated.secret)


@router.post(
    "/webhook-endpoints/{endpoint_id}/test",
    response=responses({202: DeliveryOut}, WRITE_ERRORS),
)
def test_webhook_endpoint(request: HttpRequest, endpoint_id: ObjectId) -> Status[dict[str, Any]]:
    """Send a `webhook.test` event to this endpoint alone; follow its delivery."""
    delivery = endpoint_send_test(actor=actor_of(request), endpoint_id=endpoint_id)
    return Status(202, delivery_serialize(delivery))


@router.post(
    "/webhook-endpoints/{endpoint_id}/resend-failed",
    response=responses({200: ResendCount}, WRITE_ERRORS),
)
def resend_failed_webhooks(
    request: HttpRequest, endpoint_id: ObjectId, payload: ResendFailedIn
) -> dict[str, Any]:
    """Send again every failed delivery of this endpoint created since `since`."""
    count = delivery_resend_failed(
        actor=actor_of(request), endpoint_id=endpoint_id, since=payload.since
    )
    return {"resent": count}


@router.get("/webhook-deliveries", response=responses({200: DeliveryPage}))
def list_webhook_deliveries(
    request: HttpRequest, filters: Query[DeliveryFilters]
) -> dict[str, Any]:
    deliveries = delivery_list_for_actor(
        actor_of(request),
        endpoint_id=filters.endpoint_id,
        status=filters.status,
        event_type=filters.event_type,
    )
    return paginate(deliveries, filters, delivery_serialize)


@router.get("/webhook-deliveries/{delivery_id}", response=responses({200: DeliveryOut}))
def get_webhook_delivery(request: HttpRequest, delivery_id: ObjectId) -> dict[str, Any]:
    return delivery_serialize(delivery_get_for_actor(actor_of(request), delivery_id))


@router.post(
    "/webhook-deliveries/{delivery_id}/resend",
    response=responses({202: DeliveryOut}, WRITE_ERRORS),
)
def resend_webhook_delivery(request: HttpRequest, delivery_id: ObjectId) -> Status[dict[str, Any]]:
    """Deliver the same event again (same `webhook-id`), starting the retry schedule over."""
    delivery = delivery_resend(actor=actor_of(request), delivery_id=delivery_id)
    return Status(202, delivery_serialize(delivery))


@router.get("/events", response=responses({200: EventPage}))
def list_events(request: HttpRequest, filters: Query[EventFilters]) -> dict[str, Any]:
    """The event log, oldest first: poll with `since` = the last `created_at` you saw."""
    events = event_list_for_actor(actor_of(request), type=filters.type, since=filters.since)
    return paginate(events, filters, event_serialize)


@router.get("/events/{event_id}", response=responses({200: EventOut}))
def get_event(request: HttpRequest, event_id: ObjectId) -> dict[str, Any]:
    return event_serialize(event_get_for_actor(actor_of(request), event_id))
