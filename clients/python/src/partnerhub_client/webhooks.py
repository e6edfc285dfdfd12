"""Webhook receivers: verify the Standard Webhooks signature, drop duplicates, update the cache.

`WebhookHandler.handle(body, headers)` is the whole logic; `wsgi_app()` and `asgi_app()`
wrap it for any WSGI or ASGI server, and `partnerhub_client.django.webhook_view` for
Django. Answers: 200 `{"status": "ok"}` for an event taken, 200 `{"status": "duplicate"}`
for one already taken (Partnerhub must stop retrying it), 401 for a signature or
timestamp that does not verify, 405/400 for what is no webhook at all, and 500 when one
of the caller's handlers raised (Partnerhub then delivers it again, same `webhook-id`).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError as _SWVerificationError

from partnerhub_client.errors import WebhookVerificationError

if TYPE_CHECKING:
    from partnerhub_client.client import Partnerhub

logger = logging.getLogger("partnerhub_client")

ENTITLEMENTS_CHANGED = "company.entitlements_changed"
MAX_BODY_BYTES = 5 * 1024 * 1024
EventHandler = Callable[[dict[str, Any]], object]


class SeenIds:
    """The last `size` event ids taken (webhook-id), shared by the receivers and the
    catch-up: an event delivered twice, or both delivered and polled, is applied once."""

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, msg_id: object) -> bool:
        return msg_id in self._ids

    def add(self, msg_id: str) -> bool:
        """Remember the id; False when it was already there."""
        with self._lock:
            if msg_id in self._ids:
                return False
            self._ids[msg_id] = None
            if len(self._ids) > self.size:
                self._ids.popitem(last=False)
            return True

    def discard(self, msg_id: str) -> None:
        with self._lock:
            self._ids.pop(msg_id, None)


@dataclass(frozen=True)
class WebhookResult:
    status: int
    reason: str

    @property
    def body(self) -> bytes:
        return json.dumps({"status": self.reason}).encode()


def parse_timestamp(text: str) -> datetime:
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


class WebhookHandler:
    """Verifies with each secret (two while a rotation signs with both; either will do)."""

    def __init__(self, client: Partnerhub, secrets: Iterable[str]) -> None:
        self.client = client
        self._hooks = [Webhook(secret) for secret in secrets]
        if not self._hooks:
            raise ValueError("a webhook receiver needs the endpoint's signing secret (whsec_…)")

    def verify(self, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
        lowered = {k.lower(): v for k, v in headers.items()}
        error: Exception | None = None
        for hook in self._hooks:
            try:
                payload: dict[str, Any] = hook.verify(body, lowered)
                return payload
            except _SWVerificationError as exc:
                error = exc
        raise WebhookVerificationError(str(error))

    def handle(self, body: bytes, headers: Mapping[str, str]) -> WebhookResult:
        try:
            payload = self.verify(body, headers)
        except WebhookVerificationError as exc:
            logger.warning("Webhook refused: %s", exc)
            return WebhookResult(401, "invalid signature")
        msg_id = next(v for k, v in headers.items() if k.lower() == "webhook-id")
        if not self.client.seen.add(msg_id):
            return WebhookResult(200, "duplicate")
        try:
            self.client.dispatch_event(payload, source="webhook")
        except Exception:
            # Not taken: forget the id so Partnerhub's retry is processed.
            self.client.seen.discard(msg_id)
            logger.exception("Webhook %s: a handler failed", msg_id)
            return WebhookResult(500, "handler failed")
        return WebhookResult(200, "ok")

    # -- WSGI -------------------------------------------------------------------------

    def wsgi_app(self) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            if environ.get("REQUEST_METHOD") != "POST":
                start_response("405 Method Not Allowed", [("Allow", "POST")])
                return [b""]
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_BODY_BYTES:
                start_response("400 Bad Request", [("Content-Type", "application/json")])
                return [b'{"status": "bad length"}']
            body = environ["wsgi.input"].read(length) if length else b""
            headers = {
                key[5:].replace("_", "-").lower(): value
                for key, value in environ.items()
                if key.startswith("HTTP_")
            }
            result = self.handle(body, headers)
            start_response(_status_line(result.status), [("Content-Type", "application/json")])
            return [result.body]

        return app

    # -- ASGI -------------------------------------------------------------------------

    def asgi_app(
        self,
    ) -> Callable[
        [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[Any]]],
        Awaitable[None],
    ]:
        async def app(
            scope: MutableMapping[str, Any],
            receive: Callable[[], Awaitable[Any]],
            send: Callable[[Any], Awaitable[Any]],
        ) -> None:
            if scope["type"] == "lifespan":
                while True:
                    message = await receive()
                    if message["type"] == "lifespan.startup":
                        await send({"type": "lifespan.startup.complete"})
                    elif message["type"] == "lifespan.shutdown":
                        await send({"type": "lifespan.shutdown.complete"})
                        return
            if scope["type"] != "http":
                return
            if scope.get("method") != "POST":
                await _asgi_answer(send, 405, b"")
                return
            chunks: list[bytes] = []
            size = 0
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    await _asgi_answer(send, 400, b'{"status": "too large"}')
                    return
                chunks.append(chunk)
                if not message.get("more_body"):
                    break
            headers = {
                k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]
            }
            # Verifying and updating the cache is CPU work of microseconds: no thread needed.
            result = self.handle(b"".join(chunks), headers)
            await _asgi_answer(send, result.status, result.body)

        return app


def _status_line(status: int) -> str:
    from http import HTTPStatus

    return f"{status} {HTTPStatus(status).phrase}"


async def _asgi_answer(send: Callable[[Any], Awaitable[Any]], status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
