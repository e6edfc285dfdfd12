"""The entitlements cache over httpx.MockTransport: ETag revalidation, max_age, the order
of events and fetches, outages and fallbacks, the catch-up's paging."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime, timedelta

import httpx
from partnerhub_client import Fallback, Partnerhub

NOW = datetime.now(UTC)


def body(company_id: int = 11, features=("seating",), messages: int | None = 100) -> dict:
    return {
        "company_id": company_id,
        "plan": {"id": 7, "name": "gold", "display_name": "Gold"},
        "features": [{"key": k, "source": "plan"} for k in features],
        "limits": {"messages": {"value": messages, "period": "month", "source": "plan"}},
        "fees": {"source": "plan", "schedule": [], "blended": {}},
    }


class FakeEntitlements:
    """GET /entitlements answering `current` with its ETag, 304 on a match."""

    def __init__(self) -> None:
        self.current = body()
        self.etag = '"v1"'
        self.requests: list[httpx.Request] = []
        self.down = False
        self.date = NOW

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.down:
            raise httpx.ConnectError("refused")
        headers = {"ETag": self.etag, "Date": email.utils.format_datetime(self.date, usegmt=True)}
        if request.headers.get("If-None-Match") == self.etag:
            return httpx.Response(304, headers=headers)
        return httpx.Response(200, json=self.current, headers=headers)


def make(fake, **options) -> Partnerhub:
    return Partnerhub(
        "http://partnerhub.test",
        "ph_key",
        transport=httpx.MockTransport(fake),
        poll_interval=None,
        close_at_exit=False,
        sleep=lambda s: None,
        **options,
    )


def event(at: datetime, features=("plans",), etag='"v2"', company_id: int = 11) -> dict:
    return {
        "type": "company.entitlements_changed",
        "timestamp": at.isoformat().replace("+00:00", "Z"),
        "data": {
            "company_id": company_id,
            "entitlements": body(company_id, features),
            "etag": etag,
        },
    }


def test_a_fresh_entry_answers_without_a_request() -> None:
    fake = FakeEntitlements()
    client = make(fake)
    first = client.entitlements(11)
    assert first.has("seating") and not first.has("vouchers")
    assert first.limit("messages") == 100 and first.limit("nope", None) is None
    assert first.plan == {"id": 7, "name": "gold", "display_name": "Gold"}
    for _ in range(100):
        assert client.entitlements(11) is first
    assert len(fake.requests) == 1


def test_past_max_age_it_revalidates_with_if_none_match() -> None:
    fake = FakeEntitlements()
    client = make(fake, max_age=0)
    first = client.entitlements(11)
    again = client.entitlements(11)
    assert fake.requests[1].headers["If-None-Match"] == '"v1"'
    assert again is first  # 304: the same entitlements, confirmed
    fake.current, fake.etag = body(features=("plans",)), '"v2"'
    changed = client.entitlements(11)
    assert changed.has("plans") and not changed.has("seating") and changed.etag == '"v2"'


def test_an_event_replaces_the_entry_and_an_older_one_is_ignored() -> None:
    fake = FakeEntitlements()
    client = make(fake)
    client.entitlements(11)
    client.dispatch_event(event(NOW + timedelta(seconds=5)), source="webhook")
    updated = client.entitlements(11)
    assert updated.has("plans") and updated.source == "webhook" and updated.etag == '"v2"'
    client.dispatch_event(
        event(NOW + timedelta(seconds=3), features=("old",), etag='"v0"'), source="events"
    )
    assert client.entitlements(11) is updated
    assert len(fake.requests) == 1


def test_an_event_older_than_the_fetch_is_not_applied() -> None:
    fake = FakeEntitlements()
    client = make(fake)
    fetched = client.entitlements(11)
    client.dispatch_event(event(NOW - timedelta(seconds=30), features=("old",)), source="webhook")
    assert client.entitlements(11) is fetched


def test_an_event_too_close_to_the_fetch_to_order_makes_it_revalidate() -> None:
    fake = FakeEntitlements()
    client = make(fake)
    client.entitlements(11)
    client.dispatch_event(event(NOW), source="webhook")
    fake.current, fake.etag = body(features=("plans",)), '"v2"'
    assert client.entitlements(11).has("plans")
    assert len(fake.requests) == 2


def test_events_for_companies_never_read_are_not_kept() -> None:
    client = make(FakeEntitlements())
    client.dispatch_event(event(NOW, company_id=99), source="webhook")
    assert client.cache.peek(99) is None


def test_down_serves_last_known_values_stale_then_recovers() -> None:
    fake = FakeEntitlements()
    client = make(fake, max_age=0, retry_interval=0, max_retries=0)
    client.entitlements(11)
    fake.down = True
    stale = client.entitlements(11)
    assert stale.stale and stale.has("seating") and stale.source == "partnerhub"
    assert client.transport.down_since is not None
    fake.down = False
    fresh = client.entitlements(11)
    assert not fresh.stale and fresh.has("seating")
    assert client.transport.down_since is None


def test_down_and_never_read_gives_the_static_fallback() -> None:
    fake = FakeEntitlements()
    fake.down = True
    client = make(
        fake,
        retry_interval=0,
        max_retries=0,
        fallback=lambda company_id: Fallback.of(["plans"], {"messages": company_id}),
    )
    got = client.entitlements(5)
    assert got.source == "fallback" and got.stale
    assert got.has("plans") and got.limit("messages") == 5
    fake.down = False
    assert client.entitlements(5).source == "partnerhub"


def test_while_down_reads_do_not_retry_on_every_check() -> None:
    fake = FakeEntitlements()
    client = make(fake, max_age=0, retry_interval=60, max_retries=0)
    client.entitlements(11)
    fake.down = True
    for _ in range(50):
        assert client.entitlements(11).stale
    assert len(fake.requests) == 2  # the fetch, then one failed revalidation


def test_catch_up_pages_through_events_and_skips_those_seen() -> None:
    fake = FakeEntitlements()
    pages: list[httpx.Request] = []
    t = NOW + timedelta(seconds=10)
    items = [
        {
            "id": i,
            "webhook_id": f"msg_{i}",
            "type": "company.entitlements_changed",
            "reseller_id": 2,
            "created_at": t.isoformat(),
            "data": event(t, features=(f"f{i}",), etag=f'"e{i}"', company_id=11)["data"],
        }
        for i in range(250)
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/events":
            pages.append(request)
            offset, limit = int(request.url.params["offset"]), int(request.url.params["limit"])
            return httpx.Response(
                200, json={"items": items[offset : offset + limit], "count": len(items)}
            )
        return fake(request)

    client = make(handler)
    client.entitlements(11)
    client.seen.add("msg_249")  # delivered by webhook already
    assert client.catch_up() == 249
    assert [int(p.url.params["offset"]) for p in pages] == [0, 200]
    assert pages[0].url.params["type"] == "company.entitlements_changed"
    assert client.entitlements(11).has("f248")
    # The next catch-up starts a little before the newest event, and skips what it saw.
    assert client.catch_up() == 0
    since = datetime.fromisoformat(pages[-1].url.params["since"])
    assert since == t - timedelta(seconds=5)


def test_while_down_one_read_probes_and_the_others_serve_the_cache() -> None:
    fake = FakeEntitlements()
    client = make(fake, max_age=0, retry_interval=60, max_retries=0)
    for company_id in (1, 2, 3):
        fake.current = body(company_id)
        client.entitlements(company_id)
    fake.down = True
    assert client.entitlements(1).stale  # the probe: a request, which fails
    before = len(fake.requests)
    assert client.entitlements(2).stale and client.entitlements(3).stale
    assert len(fake.requests) == before  # no request: Partnerhub is known to be down
