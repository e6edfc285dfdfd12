"""`Partnerhub`: the typed API, the entitlements cache, usage batching and webhook receivers."""

from __future__ import annotations

import atexit
import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from pydantic import TypeAdapter

from partnerhub_client import models
from partnerhub_client._operations import Operations
from partnerhub_client._transport import Transport
from partnerhub_client.entitlements import Entitlements, EntitlementsCache, Fallback
from partnerhub_client.errors import ApiError, PartnerhubError
from partnerhub_client.usage import UsageBatcher
from partnerhub_client.webhooks import (
    ENTITLEMENTS_CHANGED,
    EventHandler,
    SeenIds,
    WebhookHandler,
    parse_timestamp,
)

logger = logging.getLogger("partnerhub_client")

# POSTs that are safe to send again: they store nothing, or carry an idempotency id.
SAFE_POSTS = frozenset({"consume_usage", "record_usage_events", "quote_fees", "preview_plan"})
EVENTS_PAGE = 200  # the API's largest page


def new_id() -> str:
    """An idempotency id for a usage event or a consume: unique, and the same on a retry."""
    return f"phc-{uuid.uuid4().hex}"


class Partnerhub(Operations):
    """A Partnerhub installation, seen from a host platform.

    Every operation of the REST API is a typed method (`_operations.py`, generated from
    the OpenAPI document), plus:
    - `entitlements(company_id)`: cached, `.has(feature)`, `.limit(key)`;
    - `consume(...)` (ask before using) and `record_usage(...)` (batched, in the background);
    - `wsgi_app()`, `asgi_app()`, `django_view()`: webhook receivers updating the cache.

    One instance per process, shared by its threads; `close()` (or the `with` block, or
    the interpreter's exit) sends the queued usage and stops the background threads.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        webhook_secret: str | Iterable[str] | None = None,
        max_age: float = 300.0,
        poll_interval: float | None = 30.0,
        retry_interval: float = 5.0,
        fallback: Fallback | Callable[[int], Fallback] | None = None,
        timeout: float = 10.0,
        entitlements_timeout: float = 2.0,
        max_retries: int = 4,
        usage_batch_size: int = 500,
        usage_flush_interval: float = 1.0,
        usage_max_queue: int = 100_000,
        usage_enqueue_timeout: float = 5.0,
        on_usage_error: Callable[[list[dict[str, Any]], PartnerhubError], object] | None = None,
        catch_up_overlap: float = 5.0,
        transport: httpx.BaseTransport | None = None,
        close_at_exit: bool = True,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        extra: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
        self.transport = Transport(
            base_url,
            api_key,
            timeout=timeout,
            max_retries=max_retries,
            transport=transport,
            **extra,
        )
        self.cache = EntitlementsCache(
            self.transport,
            max_age=max_age,
            retry_interval=retry_interval,
            timeout=entitlements_timeout,
            fallback=fallback,
        )
        self.usage = UsageBatcher(
            self._send_usage,
            batch_size=usage_batch_size,
            flush_interval=usage_flush_interval,
            max_queue=usage_max_queue,
            enqueue_timeout=usage_enqueue_timeout,
            on_error=on_usage_error,
        )
        self.seen = SeenIds()
        secrets = (
            [webhook_secret] if isinstance(webhook_secret, str) else list(webhook_secret or [])
        )
        self._webhooks = WebhookHandler(self, secrets) if secrets else None
        self._handlers: dict[str, list[EventHandler]] = {}
        self._adapters: dict[Any, TypeAdapter[Any]] = {}
        # Catch-up: events after `_cursor` (Partnerhub's clock). A minute back from now at
        # start, for the clocks' skew; the overlap re-reads the last seconds each time, as
        # an event can commit a moment after a later one (the ids seen skip repeats).
        self.catch_up_overlap = catch_up_overlap
        self._cursor = datetime.now(UTC) - timedelta(seconds=60)
        self._catch_up_lock = threading.Lock()
        self.poll_interval = poll_interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._poller: threading.Thread | None = None
        self._events_forbidden = False
        self.transport.on_recovered.append(self._wake.set)
        if poll_interval is not None:
            self._poller = threading.Thread(
                target=self._poll_loop, name="partnerhub-catch-up", daemon=True
            )
            self._poller.start()
        self._closed = False
        self._close_at_exit = close_at_exit
        if close_at_exit:
            atexit.register(self.close)

    # -- entitlements -------------------------------------------------------------------

    def entitlements(self, company_id: int) -> Entitlements:
        """The company's entitlements: from the cache (microseconds), else fetched."""
        return self.cache.get(company_id)

    # -- usage --------------------------------------------------------------------------

    def consume(
        self, company_id: int, limit: str, quantity: int = 1, *, id: str | None = None
    ) -> models.ConsumeOut:
        """Ask before using: records `quantity` if it fits (`allowed`), atomically. The id
        (generated when not given) makes a retry after a lost answer count once."""
        return self.consume_usage(company_id, limit, {"quantity": quantity, "id": id or new_id()})

    def record_usage(
        self,
        company_id: int,
        limit: str,
        quantity: int = 1,
        *,
        id: str | None = None,
        timestamp: datetime | None = None,
    ) -> str:
        """Queue what already happened; sent in batches in the background. Answers the
        event's id."""
        event_id = id or new_id()
        when = timestamp or datetime.now(UTC)
        self.usage.add(
            {
                "id": event_id,
                "company_id": company_id,
                "limit": limit,
                "quantity": quantity,
                "timestamp": when.isoformat().replace("+00:00", "Z"),
            }
        )
        return event_id

    def flush(self, timeout: float | None = None) -> bool:
        """Send the queued usage now; True when all of it was sent within `timeout`."""
        return self.usage.flush(timeout)

    def _send_usage(self, events: list[dict[str, Any]]) -> object:
        return self.transport.request(
            "POST", "/api/v1/usage/events", json={"events": events}, safe=True
        )

    # -- events: webhooks and the catch-up ---------------------------------------------

    def on(self, event_type: str) -> Callable[[EventHandler], EventHandler]:
        """Register a handler of the event's payload (`{"type", "timestamp", "data"}`);
        `"*"` hears every type. Webhooks and the catch-up call it once per event."""

        def register(handler: EventHandler) -> EventHandler:
            self._handlers.setdefault(event_type, []).append(handler)
            return handler

        return register

    def dispatch_event(self, payload: Mapping[str, Any], *, source: str) -> None:
        event_type = payload.get("type", "")
        if event_type == ENTITLEMENTS_CHANGED:
            data = payload["data"]
            self.cache.apply(
                int(data["company_id"]),
                data["entitlements"],
                data.get("etag"),
                parse_timestamp(payload["timestamp"]),
                "webhook" if source == "webhook" else "events",
            )
        for handler in [*self._handlers.get(event_type, ()), *self._handlers.get("*", ())]:
            handler(dict(payload))

    def catch_up(self) -> int:
        """Read the events since the last catch-up and apply those not yet seen (what
        missed webhooks would have said). Answers how many were applied."""
        with self._catch_up_lock:
            since = self._cursor
            newest: datetime | None = None
            applied = offset = 0
            only = None if set(self._handlers) - {ENTITLEMENTS_CHANGED} else ENTITLEMENTS_CHANGED
            while True:
                params: dict[str, Any] = {
                    "since": since.isoformat(),
                    "limit": EVENTS_PAGE,
                    "offset": offset,
                }
                if only:
                    params["type"] = only
                page = self.transport.request("GET", "/api/v1/events", params=params).json()
                for event in page["items"]:
                    created = parse_timestamp(event["created_at"])
                    newest = created if newest is None or created > newest else newest
                    if not self.seen.add(event["webhook_id"]):
                        continue
                    payload = {
                        "type": event["type"],
                        "timestamp": event["created_at"],
                        "data": event["data"],
                    }
                    try:
                        self.dispatch_event(payload, source="events")
                    except Exception:
                        self.seen.discard(event["webhook_id"])
                        raise
                    applied += 1
                offset += len(page["items"])
                if not page["items"] or offset >= page["count"]:
                    break
            if newest is not None:
                self._cursor = max(since, newest - timedelta(seconds=self.catch_up_overlap))
            return applied

    def _poll_loop(self) -> None:
        assert self.poll_interval is not None
        while not self._stop.is_set():
            self._wake.wait(self.poll_interval)
            self._wake.clear()
            if self._stop.is_set() or self._events_forbidden:
                continue
            if not self.cache.company_ids() and not self._handlers:
                continue  # nothing to keep fresh
            try:
                applied = self.catch_up()
                if applied:
                    logger.info("caught up %d events Partnerhub had announced", applied)
            except ApiError as exc:
                if exc.status in (401, 403):
                    self._events_forbidden = True
                    logger.error(
                        "the catch-up cannot read /api/v1/events (%s): use a platform or "
                        "reseller key, or webhooks alone keep the cache fresh",
                        exc,
                    )
                else:
                    logger.warning("catch-up failed: %s", exc)
            except PartnerhubError as exc:
                logger.warning("catch-up failed: %s", exc)

    # -- receivers ----------------------------------------------------------------------

    @property
    def webhooks(self) -> WebhookHandler:
        if self._webhooks is None:
            raise PartnerhubError(
                "no webhook_secret: pass the endpoint's signing secret (whsec_…) to Partnerhub()"
            )
        return self._webhooks

    def wsgi_app(self) -> Any:
        """A WSGI callable receiving Partnerhub's webhooks (mount it on any path)."""
        return self.webhooks.wsgi_app()

    def asgi_app(self) -> Any:
        """An ASGI callable receiving Partnerhub's webhooks."""
        return self.webhooks.asgi_app()

    def django_view(self) -> Any:
        """A Django view receiving Partnerhub's webhooks (CSRF-exempt, POST only)."""
        from partnerhub_client.django import webhook_view

        return webhook_view(self)

    # -- the typed operations' transport -----------------------------------------------

    def _adapter(self, kind: Any) -> TypeAdapter[Any]:
        adapter = self._adapters.get(kind)
        if adapter is None:
            adapter = self._adapters[kind] = TypeAdapter(kind)
        return adapter

    def _operation(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        answer: Any,
        status: int,
        params: dict[str, Any] | None = None,
        body: Any = None,
        body_model: Any = None,
    ) -> Any:
        payload = None
        if body is not None:
            if hasattr(body, "model_dump"):
                body = body.model_dump(mode="json", exclude_unset=True, by_alias=True)
            body = _with_ids(operation, body)
            if body_model is not None:
                adapter = self._adapter(body_model)
                payload = adapter.dump_python(
                    adapter.validate_python(body), mode="json", exclude_unset=True, by_alias=True
                )
            else:
                payload = body
        query = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}
        safe = method in ("GET", "PUT", "DELETE") or operation in SAFE_POSTS
        response = self.transport.request(method, path, params=query, json=payload, safe=safe)
        if answer is None or response.status_code == 204:
            return None
        return self._adapter(answer).validate_python(response.json())

    # -- lifecycle ----------------------------------------------------------------------

    def close(self, timeout: float = 30.0) -> None:
        """Send the queued usage (within `timeout`), stop the threads, close connections."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._wake.set()
        self.usage.close(timeout)
        if self._poller is not None:
            self._poller.join(timeout=5)
        self.transport.close()
        if self._close_at_exit:
            atexit.unregister(self.close)

    def __enter__(self) -> Partnerhub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _with_ids(operation: str, body: Any) -> Any:
    """The caller's body, plus an idempotency id where the operation takes one and none
    was given (set once, before the retry loop: a retry sends the same id)."""
    if operation == "consume_usage" and isinstance(body, dict) and not body.get("id"):
        return {**body, "id": new_id()}
    if operation == "record_usage_events" and isinstance(body, dict):
        events = [
            {**event, "id": new_id()} if isinstance(event, dict) and not event.get("id") else event
            for event in body.get("events", [])
        ]
        return {**body, "events": events}
    return body


def _query_value(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value
