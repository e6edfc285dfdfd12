"""Sending due deliveries from the worker (SPEC §14): signed, concurrent, retried.

A round claims a batch of due deliveries in one transaction (a lease on each row;
`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several workers share the queue), reading
only the columns sending needs. It splits each endpoint's share into at most
`PARTNERHUB_WEBHOOK_ENDPOINT_CONCURRENCY` lanes; a lane sends its deliveries one after
the other (oldest first) through the worker's one pooled keep-alive `httpx.Client`,
and a thread pool of `PARTNERHUB_WEBHOOK_CONCURRENCY` runs the lanes. So no endpoint
has more requests in flight than its bound, and one slow endpoint leaves threads to
the others. Every outcome of the round is recorded in one transaction: one UPDATE per
response code for the successes, one batched UPDATE (`executemany`) for the rest.

The worker runs rounds back to back with `deliveries_pump`, which records one round and
claims the next while a round's requests are in flight.

A worker killed mid-round leaves its deliveries `pending` with a lease that runs out:
they are sent again (same `webhook-id`) — at least once, never lost.
"""

from __future__ import annotations

import itertools
import json
import logging
import random
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from partnerhub.webhooks.events import body_bytes
from partnerhub.webhooks.guard import Target, TargetRefused, resolve_target
from partnerhub.webhooks.models import Delivery, Endpoint, Event
from partnerhub.webhooks.signing import signature_header

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0
# An endpoint that has answered nothing but failures for this long is disabled.
FAILING_DISABLES_AFTER = timedelta(days=5)
USER_AGENT = "Partnerhub-Webhooks/1"
# Attempts one lane makes in a round, one after another: even if each one times out
# (4 x 10 s) the round ends within the default lease (60 s), so a slow endpoint does not
# get its deliveries claimed twice.
LANE_DEPTH = 4


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


def request_headers(secrets: list[str], webhook_id: str, body: bytes) -> dict[str, str]:
    timestamp = int(time.time())
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets, webhook_id, timestamp, body),
    }


@dataclass
class Outcome:
    code: int | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.code is not None and 200 <= self.code < 300


@dataclass(frozen=True)
class Due:
    """A claimed delivery: the columns sending and recording it need, no model."""

    id: int
    endpoint_id: int
    attempts: int
    event_id: int
    event_type: str
    event_created_at: datetime
    event_data: dict[str, Any]

    @property
    def webhook_id(self) -> str:
        """The Standard Webhooks `webhook-id` (`Event.webhook_id`)."""
        return f"evt_{self.event_id}"


def http_client(concurrency: int) -> httpx.Client:
    return httpx.Client(
        timeout=TIMEOUT_SECONDS,
        follow_redirects=False,  # a redirect could lead past the SSRF guard
        limits=httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency),
    )


def _post(client: httpx.Client, target: Target, secrets: list[str], due: Due) -> Outcome:
    """One attempt. Never raises; the error text names no secret."""
    body = body_bytes(due.event_type, due.event_created_at, due.event_data)
    headers = request_headers(secrets, due.webhook_id, body)
    headers["host"] = target.host_header
    extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else None
    try:
        response = client.post(target.url, content=body, headers=headers, extensions=extensions)
    except httpx.TimeoutException:
        return Outcome(None, "timed out after 10 s")
    except httpx.HTTPError as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:500])
    return Outcome(response.status_code)


def send_lane(
    client: httpx.Client, endpoint: Endpoint, lane: Sequence[Due]
) -> list[tuple[Due, Outcome]]:
    """One lane's deliveries to one endpoint, in order. The SSRF guard resolves and checks
    the host once for the lane, just before it sends (the lane lasts seconds at most)."""
    try:
        target = resolve_target(endpoint.url)
    except TargetRefused as exc:
        refused = Outcome(None, f"refused: {exc}")
        return [(due, refused) for due in lane]
    secrets = signing_secrets(endpoint)
    return [(due, _post(client, target, secrets, due)) for due in lane]


def deliveries_claim(*, limit: int, per_endpoint: int) -> list[Due]:
    """Due deliveries of enabled endpoints, oldest first, leased to this worker: at most
    `limit`, and at most `per_endpoint * LANE_DEPTH` of one endpoint (the rest stay
    unclaimed for the next round or another worker)."""
    if connection.vendor == "postgresql":
        return _claim_postgres(limit=limit, cap=per_endpoint * LANE_DEPTH)
    now = timezone.now()
    due = Delivery.objects.filter(
        status=Delivery.Status.PENDING, next_attempt_at__lte=now, endpoint__enabled=True
    ).filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
    if not due.exists():
        return []  # the common idle case, without taking a write lock (SQLite)
    cap = per_endpoint * LANE_DEPTH
    with transaction.atomic():
        qs = due
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True, of=("self",))
        taken: dict[int, int] = defaultdict(int)
        ids = []
        for pk, endpoint_id in qs.order_by("next_attempt_at", "id").values_list(
            "pk", "endpoint_id"
        )[:limit]:
            if taken[endpoint_id] < cap:
                taken[endpoint_id] += 1
                ids.append(pk)
        if not ids:
            return []
        lease = timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
        Delivery.objects.filter(pk__in=ids).update(claimed_until=now + lease)
    rows = (
        Delivery.objects.filter(pk__in=ids)
        .order_by("next_attempt_at", "id")
        .values_list(
            "pk",
            "endpoint_id",
            "attempts",
            "event_id",
            "event__type",
            "event__created_at",
            "event__data",
        )
    )
    return [Due(*row) for row in rows]


# The same claim as one statement: lock the oldest due rows nobody holds (SKIP LOCKED),
# keep `cap` per endpoint, lease them and answer them with their events' columns.
_CLAIM_SQL = """
WITH picked AS (
    SELECT d.id, d.endpoint_id, d.next_attempt_at
    FROM webhooks_delivery d JOIN webhooks_endpoint ep ON ep.id = d.endpoint_id
    WHERE d.status = 'pending' AND d.next_attempt_at <= %(now)s AND ep.enabled
      AND (d.claimed_until IS NULL OR d.claimed_until < %(now)s)
    ORDER BY d.next_attempt_at, d.id
    LIMIT %(limit)s
    FOR UPDATE OF d SKIP LOCKED
), capped AS (
    SELECT id FROM (
        SELECT id, row_number() OVER (
            PARTITION BY endpoint_id ORDER BY next_attempt_at, id
        ) AS n
        FROM picked
    ) ranked
    WHERE n <= %(cap)s
)
UPDATE webhooks_delivery d SET claimed_until = %(until)s
FROM webhooks_event e
WHERE d.id IN (SELECT id FROM capped) AND e.id = d.event_id
RETURNING d.next_attempt_at, d.id, d.endpoint_id, d.attempts, e.id, e.type, e.created_at,
    e.data
"""


def _claim_postgres(*, limit: int, cap: int) -> list[Due]:
    assert Delivery._meta.db_table == "webhooks_delivery"
    assert Event._meta.db_table == "webhooks_event"
    assert Endpoint._meta.db_table == "webhooks_endpoint"
    now = timezone.now()
    until = now + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, {"now": now, "limit": limit, "cap": cap, "until": until})
        rows = sorted(cursor.fetchall(), key=lambda row: (row[0], row[1]))
    # Django reads jsonb as text (JSONField decodes it); so does this raw query.
    return [
        Due(pk, endpoint_id, attempts, event_id, event_type, created_at, _json(data))
        for _, pk, endpoint_id, attempts, event_id, event_type, created_at, data in rows
    ]


def _json(data: Any) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(data) if isinstance(data, str | bytes) else data
    return decoded


def lanes_for(claimed: Sequence[Due], per_endpoint: int) -> list[list[Due]]:
    """Each endpoint's deliveries dealt in order over at most `per_endpoint` lanes; the
    lanes of different endpoints interleaved, so the pool starts every endpoint early."""
    by_endpoint: dict[int, list[Due]] = defaultdict(list)
    for due in claimed:
        by_endpoint[due.endpoint_id].append(due)
    per: list[list[list[Due]]] = []
    for items in by_endpoint.values():
        k = min(per_endpoint, len(items))
        per.append([items[i::k] for i in range(k)])
    return [lane for group in itertools.zip_longest(*per) for lane in group if lane]


def _failure(due: Due, outcome: Outcome, now: datetime) -> tuple[str, datetime | None]:
    """(status, next attempt) after a failed attempt."""
    if outcome.code == 410:
        return Delivery.Status.FAILED, None
    delay = retry_delay(due.attempts + 1)
    if delay is None:
        return Delivery.Status.FAILED, None
    return Delivery.Status.PENDING, now + timedelta(seconds=delay)


def deliveries_record(results: Sequence[tuple[Due, Outcome]], *, renew: Sequence[int] = ()) -> None:
    """Every outcome of a round in one transaction, with the endpoints' health: the
    successes in one UPDATE per response code, the failures in one batched UPDATE.
    `renew`: deliveries whose lease starts again now (the next round, claimed early)."""
    now = timezone.now()
    verdicts: dict[int, set[str]] = defaultdict(set)
    succeeded: dict[int, list[int]] = defaultdict(list)
    failed: list[tuple[Any, ...]] = []
    adapt = connection.ops.adapt_datetimefield_value
    for due, outcome in results:
        if outcome.ok:
            assert outcome.code is not None
            succeeded[outcome.code].append(due.id)
            verdicts[due.endpoint_id].add("ok")
            continue
        verdicts[due.endpoint_id].add("gone" if outcome.code == 410 else "failed")
        status, next_attempt_at = _failure(due, outcome, now)
        failed.append(
            (
                status,
                due.attempts + 1,
                adapt(now),
                outcome.code,
                outcome.error[:500],
                adapt(next_attempt_at),
                due.id,
            )
        )
    table = connection.ops.quote_name(Delivery._meta.db_table)
    with transaction.atomic():
        if renew:
            lease = timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
            Delivery.objects.filter(pk__in=renew, status=Delivery.Status.PENDING).update(
                claimed_until=now + lease
            )
        for code, ids in succeeded.items():
            Delivery.objects.filter(pk__in=ids).update(
                status=Delivery.Status.SUCCEEDED,
                attempts=F("attempts") + 1,
                last_attempt_at=now,
                last_response_code=code,
                last_error="",
                claimed_until=None,
                next_attempt_at=None,
            )
        if failed:
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"UPDATE {table} SET status = %s, attempts = %s, last_attempt_at = %s, "
                    "last_response_code = %s, last_error = %s, claimed_until = NULL, "
                    "next_attempt_at = %s WHERE id = %s",
                    failed,
                )
        healthy = [pk for pk, v in verdicts.items() if "ok" in v]
        failing = [pk for pk, v in verdicts.items() if "ok" not in v]
        gone = [pk for pk, v in verdicts.items() if "gone" in v]
        if healthy:
            Endpoint.objects.filter(pk__in=healthy, failing_since__isnull=False).update(
                failing_since=None
            )
        if failing:
            Endpoint.objects.filter(pk__in=failing, failing_since__isnull=True).update(
                failing_since=now
            )
            Endpoint.objects.filter(
                pk__in=failing, enabled=True, failing_since__lte=now - FAILING_DISABLES_AFTER
            ).update(enabled=False, disabled_reason="5 days of failed deliveries")
        if gone:
            Endpoint.objects.filter(pk__in=gone, enabled=True).update(
                enabled=False, disabled_reason="the endpoint answered 410 Gone"
            )


Results = list[tuple[Due, Outcome]]


def _start(
    client: httpx.Client, pool: ThreadPoolExecutor, claimed: Sequence[Due], per_endpoint: int
) -> list[Future[Results]]:
    """Hand a claimed round's lanes to the pool; answer their futures."""
    endpoints = Endpoint.objects.in_bulk({due.endpoint_id for due in claimed})
    # An endpoint deleted since the claim took its deliveries with it.
    return [
        pool.submit(send_lane, client, endpoints[lane[0].endpoint_id], lane)
        for lane in lanes_for(claimed, per_endpoint)
        if lane[0].endpoint_id in endpoints
    ]


def _finish(futures: Sequence[Future[Results]]) -> Results:
    return [result for future in futures for result in future.result()]


def _record(results: Results, *, renew: Sequence[int] = ()) -> None:
    deliveries_record(results, renew=renew)
    for due, outcome in results:
        if not outcome.ok:
            logger.info(
                "Webhook delivery %s to endpoint %s failed (%s)",
                due.id,
                due.endpoint_id,
                outcome.code or outcome.error,
            )


def deliveries_send_round(
    client: httpx.Client,
    pool: ThreadPoolExecutor,
    *,
    limit: int,
    per_endpoint: int | None = None,
) -> int:
    """Claim, send concurrently (lanes), record. Answers how many were attempted."""
    per_endpoint = max(1, per_endpoint or settings.WEBHOOK_ENDPOINT_CONCURRENCY)
    claimed = deliveries_claim(limit=limit, per_endpoint=per_endpoint)
    if not claimed:
        return 0
    _record(_finish(_start(client, pool, claimed, per_endpoint)))
    return len(claimed)


def deliveries_pump(
    client: httpx.Client,
    pool: ThreadPoolExecutor,
    *,
    limit: int,
    per_endpoint: int | None = None,
    budget: float = 5.0,
) -> int:
    """Rounds back to back until nothing is due (or `budget` seconds have gone), with the
    database work overlapped: while one round's requests are in flight, this thread
    records the previous round's outcomes and claims the next round. A round's requests
    start only when the previous round's have ended, so the per-endpoint bound holds.
    A round claimed early has its lease renewed, in the transaction that records the
    round before it, when its requests start. Answers how many were attempted."""
    per_endpoint = max(1, per_endpoint or settings.WEBHOOK_ENDPOINT_CONCURRENCY)
    deadline = time.monotonic() + budget
    claimed = deliveries_claim(limit=limit, per_endpoint=per_endpoint)
    done: Results = []
    attempted = 0
    while claimed:
        futures = _start(client, pool, claimed, per_endpoint)
        attempted += len(claimed)
        if done:
            _record(done, renew=[due.id for due in claimed])
        following = (
            deliveries_claim(limit=limit, per_endpoint=per_endpoint)
            if time.monotonic() < deadline
            else []
        )
        done = _finish(futures)
        claimed = following
    if done:
        _record(done)
    return attempted
