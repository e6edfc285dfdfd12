"""The WSGI, ASGI and Django receivers: signatures verified by `standardwebhooks`, duplicates
dropped by webhook-id, the cache updated, handlers called, failures retried."""

from __future__ import annotations

import asyncio
import base64
import io
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from partnerhub_client import Partnerhub
from standardwebhooks import Webhook

SECRET = "whsec_" + base64.b64encode(b"k" * 24).decode()
OTHER = "whsec_" + base64.b64encode(b"o" * 24).decode()


def entitlements(features: list[str]) -> dict:
    return {
        "company_id": 11,
        "plan": None,
        "features": [{"key": k, "source": "plan"} for k in features],
        "limits": {},
        "fees": {"source": "plan", "schedule": [], "blended": {}},
    }


def fetch(request: httpx.Request) -> httpx.Response:
    # Fetched long ago (Partnerhub's clock): any event now is newer.
    return httpx.Response(
        200,
        json=entitlements(["seating"]),
        headers={"ETag": '"v1"', "Date": "Mon, 01 Jan 2024 00:00:00 GMT"},
    )


@pytest.fixture
def client():
    client = Partnerhub(
        "http://partnerhub.test",
        "ph_key",
        webhook_secret=[SECRET, OTHER],
        transport=httpx.MockTransport(fetch),
        poll_interval=None,
        close_at_exit=False,
    )
    client.entitlements(11)
    yield client
    client.close()


def signed(
    msg_id: str = "msg_1", secret: str = SECRET, features=("plans",)
) -> tuple[bytes, dict[str, str]]:
    now = datetime.now(UTC)
    payload = {
        "type": "company.entitlements_changed",
        "timestamp": now.isoformat().replace("+00:00", "Z"),
        "data": {"company_id": 11, "entitlements": entitlements(list(features)), "etag": '"v2"'},
    }
    body = json.dumps(payload).encode()
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, body.decode()),
    }
    return body, headers


def call_wsgi(app, body: bytes, headers: dict[str, str], method: str = "POST") -> tuple[str, dict]:
    environ = {
        "REQUEST_METHOD": method,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()},
    }
    status: list[str] = []
    out = b"".join(app(environ, lambda s, h: status.append(s)))
    return status[0], json.loads(out) if out else {}


def test_wsgi_verifies_updates_the_cache_and_drops_duplicates(client) -> None:
    app = client.wsgi_app()
    body, headers = signed()
    assert call_wsgi(app, body, headers) == ("200 OK", {"status": "ok"})
    cached = client.cache.peek(11)
    assert cached.has("plans") and not cached.has("seating") and cached.source == "webhook"
    assert call_wsgi(app, body, headers) == ("200 OK", {"status": "duplicate"})


def test_either_secret_of_a_rotation_verifies(client) -> None:
    body, headers = signed(secret=OTHER)
    assert call_wsgi(client.wsgi_app(), body, headers)[0] == "200 OK"


def test_a_bad_signature_or_an_old_timestamp_is_refused(client) -> None:
    app = client.wsgi_app()
    body, headers = signed()
    assert call_wsgi(app, body.replace(b"plans", b"vouchers"), headers)[0].startswith("401")
    old = datetime.now(UTC) - timedelta(minutes=10)
    stale_headers = {
        **headers,
        "webhook-timestamp": str(int(old.timestamp())),
        "webhook-signature": Webhook(SECRET).sign("msg_1", old, body.decode()),
    }
    assert call_wsgi(app, body, stale_headers)[0].startswith("401")
    assert call_wsgi(app, b"", {}, method="GET")[0].startswith("405")
    assert client.cache.peek(11).has("seating")  # nothing applied


def test_a_failing_handler_answers_500_and_the_retry_is_processed(client) -> None:
    calls: list[dict] = []

    @client.on("company.entitlements_changed")
    def flaky(payload: dict) -> None:
        calls.append(payload)
        if len(calls) == 1:
            raise RuntimeError("boom")

    app = client.wsgi_app()
    body, headers = signed("msg_9")
    assert call_wsgi(app, body, headers)[0].startswith("500")
    assert call_wsgi(app, body, headers) == ("200 OK", {"status": "ok"})
    assert len(calls) == 2 and calls[1]["data"]["company_id"] == 11


def test_asgi_receiver(client) -> None:
    app = client.asgi_app()
    body, headers = signed("msg_a")

    async def run() -> list[dict]:
        sent: list[dict] = []
        chunks = [
            {"type": "http.request", "body": body[:10], "more_body": True},
            {"type": "http.request", "body": body[10:], "more_body": False},
        ]

        async def receive() -> dict:
            return chunks.pop(0)

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "method": "POST",
            "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        }
        await app(scope, receive, send)
        return sent

    sent = asyncio.run(run())
    assert sent[0]["status"] == 200 and json.loads(sent[1]["body"]) == {"status": "ok"}
    assert client.cache.peek(11).has("plans")


def test_django_view(client) -> None:
    django = pytest.importorskip("django")
    from django.conf import settings

    if not settings.configured:
        settings.configure(ALLOWED_HOSTS=["testserver"], ROOT_URLCONF=__name__, SECRET_KEY="x")
        django.setup()
    from django.test import RequestFactory

    view = client.django_view()
    body, headers = signed("msg_d")
    request = RequestFactory().post(
        "/partnerhub/webhooks",
        data=body,
        content_type="application/json",
        headers=headers,
    )
    response = view(request)
    assert response.status_code == 200 and json.loads(response.content) == {"status": "ok"}
    assert client.cache.peek(11).has("plans")
    assert view(RequestFactory().get("/partnerhub/webhooks")).status_code == 405


urlpatterns: list = []
