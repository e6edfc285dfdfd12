"""Sending due deliveries from the worker (SPEC §14): signed, concurrent, retried.

A round claims a batch of due deliveries (a lease on each row; SKIP LOCKED on
PostgreSQL, so several workers share the queue), sends them through one pooled
keep-alive `httpx.Client` from a thread pool, and records every outcome in one
transaction. A worker killed mid-round leaves its deliveries `pending` with a lease
that runs out: they are sent again (same `webhook-id`) — at least once, never lost.
"""

from __future__ import annotations

import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from partnerhub.webhooks.events import event_body
from partnerhub.webhooks.guard import TargetRefused, resolve_target
from partnerhub.webhooks.models import Delivery, Endpoint, Event
from partnerhub.webhooks.signing import signature_header

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0
# An endpoint that has answered nothing but failures for this long is disabled.
FAILING_DISABLES_AFTER = timedelta(days=5)
USER_AGENT = "Partnerhub-Webhooks/1"


def signing_secrets(endpoint: Endpoint) -> list[str]:
    """The current secret, and the previous one during its 24 h of overlap."""
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > timezone.now():
        return [endpoint.secret, endpoint.previous_secret]
    return [endpoint.secret]


def retry_delay(attempts: int) -> float | None:
    """Seconds until the next try after `attempts` failed ones (None: give up), ±10 %."""
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    if attempts > len(schedule):
        return None
    return float(schedule[attempts - 1]) * random.uniform(0.9, 1.1)


def request_headers(endpoint: Endpoint, event: Event, body: bytes) -> dict[str, str]:
    timestamp = int(time.time())
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": event.webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(
            signing_secrets(endpoint), event.webhook_id, timestamp, body
        ),
    }


@dataclass
class Outcome:
    code: int | None
    error: str = ""


def send_one(client: httpx.Client, delivery: Delivery) -> Outcome:
    """One attempt. Never raises; the error text names no secret."""
    endpoint, event = delivery.endpoint, delivery.event
    try:
        target = resolve_target(endpoint.url)
    except TargetRefused as exc:
        return Outcome(None, f"refused: {exc}")
    body = event_body(event)
    headers = request_headers(endpoint, event, body)
    headers["host"] = target.host_header
    extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else None
    try:
        response = client.post(target.url, content=body, headers=headers, extensions=extensions)
    except httpx.TimeoutException:
        return Outcome(None, "timed out after 10 s")
    except httpx.HTTPError as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:500])
    return Outcome(response.status_code)


def http_client(concurrency: int) -> httpx.Client:
    return httpx.Client(
        timeout=TIMEOUT_SECONDS,
        follow_redirects=False,  # a redirect could lead past the SSRF guard
        limits=httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency),
    )


def deliveries_claim(*, limit: int) -> list[Delivery]:
    """Due deliveries of enabled endpoints, leased to this worker."""
    now = timezone.now()
    due = Delivery.objects.filter(
        status=Delivery.Status.PENDING, next_attempt_at__lte=now, endpoint__enabled=True
    ).filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
    if not due.exists():
        return []  # the common idle case, without taking a write lock (SQLite)
    with transaction.atomic():
        qs = due
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True, of=("self",))
        ids = list(qs.order_by("next_attempt_at", "id").values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        lease = timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
        Delivery.objects.filter(pk__in=ids).update(claimed_until=now + lease)
    return list(Delivery.objects.filter(pk__in=ids).select_related("event", "endpoint"))


def _apply(delivery: Delivery, outcome: Outcome, now: datetime) -> str:
    """Update the row for one outcome; answer "ok", "gone" or "failed"."""
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_response_code = outcome.code
    delivery.last_error = outcome.error[:500]
    delivery.claimed_until = None
    if outcome.code is not None and 200 <= outcome.code < 300:
        delivery.status = Delivery.Status.SUCCEEDED
        delivery.next_attempt_at = None
        return "ok"
    if outcome.code == 410:
        delivery.status = Delivery.Status.FAILED
        delivery.next_attempt_at = None
        return "gone"
    delay = retry_delay(delivery.attempts)
    if delay is None:
        delivery.status = Delivery.Status.FAILED
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = now + timedelta(seconds=delay)
    return "failed"


def deliveries_record(results: list[tuple[Delivery, Outcome]]) -> None:
    """Every outcome of a round in one transaction, with the endpoints' health."""
    now = timezone.now()
    verdicts: dict[int, set[str]] = {}
    for delivery, outcome in results:
        verdicts.setdefault(delivery.endpoint_id, set()).add(_apply(delivery, outcome, now))
    fields = [
        "attempts",
        "last_attempt_at",
        "last_response_code",
        "last_error",
        "claimed_until",
        "status",
        "next_attempt_at",
    ]
    with transaction.atomic():
        Delivery.objects.bulk_update([d for d, _ in results], fields)
        healthy = [pk for pk, v in verdicts.items() if "ok" in v]
        failing = [pk for pk, v in verdicts.items() if "ok" not in v]
        gone = [pk for pk, v in verdicts.items() if "gone" in v]
        Endpoint.objects.filter(pk__in=healthy).update(failing_since=None)
        Endpoint.objects.filter(pk__in=failing, failing_since__isnull=True).update(
            failing_since=now
        )
        Endpoint.objects.filter(
            pk__in=failing, enabled=True, failing_since__lte=now - FAILING_DISABLES_AFTER
        ).update(enabled=False, disabled_reason="5 days of failed deliveries")
        Endpoint.objects.filter(pk__in=gone, enabled=True).update(
            enabled=False, disabled_reason="the endpoint answered 410 Gone"
        )


def deliveries_send_round(client: httpx.Client, pool: ThreadPoolExecutor, *, limit: int) -> int:
    """Claim, send concurrently, record. Answers how many were attempted."""
    claimed = deliveries_claim(limit=limit)
    if not claimed:
        return 0
    outcomes = list(pool.map(lambda d: send_one(client, d), claimed))
    deliveries_record(list(zip(claimed, outcomes, strict=True)))
    for delivery, outcome in zip(claimed, outcomes, strict=True):
        if outcome.code is None or outcome.code >= 300:
            logger.info(
                "Webhook delivery %s to endpoint %s failed (%s)",
                delivery.pk,
                delivery.endpoint_id,
                outcome.code or outcome.error,
            )
    return len(claimed)
