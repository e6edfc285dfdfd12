"""Against a real `partnerhub serve` and worker on loopback (conftest.py): the cache kept
fresh by real webhooks, the catch-up, an outage, a revoked key, usage and consume."""

from __future__ import annotations

import json
import time

import pytest
from live import LivePartnerhub, wait_until
from partnerhub_client import AuthenticationError, Fallback, Partnerhub, models

from conftest import World

pytestmark = pytest.mark.live


def _edit_plan(admin: Partnerhub, plan_id: int, **changes: object) -> models.PlanUpdateOut:
    plan = admin.get_plan(plan_id)
    return admin.update_plan(plan_id, {**changes, "version": plan.version})


def _order_after_fetch() -> None:
    """Event and fetch times are compared on Partnerhub's clock in whole seconds (the
    `Date` header); an edit in the same second as the read is revalidated, not applied.
    These tests want the webhook's body applied: edit a second later."""
    time.sleep(1.1)


def test_plan_edit_reaches_the_cache_through_a_real_webhook(
    server: LivePartnerhub, platform_key: str, admin: Partnerhub, world: World
) -> None:
    host = world.host(server.url, platform_key)
    company = world.company_ids[0]
    before = host.entitlements(company)
    assert before.has("seating") and before.limit("messages") == 10
    assert before.source == "partnerhub" and not before.stale
    _order_after_fetch()

    _edit_plan(admin, world.plan_id, features=["plans"], limits={"messages": 25, "team_members": 5})

    after = wait_until(
        lambda: (e := host.cache.peek(company)) is not None and e.source == "webhook" and e,
        30,
        "the webhook to reach the cache",
    )
    assert not after.has("seating") and after.has("plans")
    assert after.limit("messages") == 25
    assert (
        after.etag
        == admin.transport.request("GET", f"/api/v1/companies/{company}/entitlements").headers[
            "ETag"
        ]
    )
    # The check itself is served from the cache: the same object, no request.
    assert host.entitlements(company) is after
    host.close()


def test_a_missed_webhook_is_caught_up_by_polling_events(
    server: LivePartnerhub, platform_key: str, admin: Partnerhub, world: World
) -> None:
    host = world.host(server.url, platform_key)
    company = world.company_ids[1]
    assert host.entitlements(company).limit("messages") == 10
    _order_after_fetch()
    world.receiver.paused = True  # the host's receiver is down: every delivery fails

    _edit_plan(admin, world.plan_id, limits={"messages": 40, "team_members": 5})

    def caught_up() -> bool:
        host.catch_up()
        entry = host.cache.peek(company)
        return entry is not None and entry.limit("messages") == 40

    wait_until(caught_up, 30, "the fan-out's event in /api/v1/events")
    caught = host.cache.peek(company)
    assert caught is not None and caught.source == "events"

    # The receiver comes back: Partnerhub's retry of the same event is a duplicate.
    answers: list[bytes] = []
    app = host.wsgi_app()

    def recording(environ, start_response):  # type: ignore[no-untyped-def]
        body = b"".join(app(environ, start_response))
        answers.append(body)
        return [body]

    world.receiver.app = recording
    world.receiver.paused = False
    wait_until(
        lambda: (
            admin.list_webhook_deliveries(
                endpoint_id=world.endpoint_id,
                status="succeeded",
                event_type="company.entitlements_changed",
            ).count
            >= 2
        ),
        60,
        "the retried deliveries to succeed",
    )
    statuses = [json.loads(a)["status"] for a in answers]
    assert "duplicate" in statuses
    assert host.cache.peek(company) is caught  # nothing applied twice
    host.close()


def test_a_stopped_server_leaves_checks_answering_from_cache(
    server: LivePartnerhub, platform_key: str, admin: Partnerhub, world: World
) -> None:
    company, never_read = world.company_ids
    host = world.host(
        server.url,
        platform_key,
        max_age=0.2,  # every read past 0.2 s revalidates: the outage is seen at once
        retry_interval=0.2,
        fallback=Fallback.of(features=["plans"], limits={"messages": 1}),
        max_retries=0,
        usage_flush_interval=0.05,
    )
    assert host.entitlements(company).has("seating")
    server.stop()
    try:
        time.sleep(0.3)  # past max_age: the next read tries Partnerhub, which is gone
        cached = host.entitlements(company)
        assert cached.has("seating") and cached.limit("messages") == 10
        assert cached.stale and cached.source == "partnerhub"
        fallback = host.entitlements(never_read)
        assert fallback.stale and fallback.source == "fallback"
        assert fallback.has("plans") and not fallback.has("seating")
        assert fallback.limit("messages") == 1
        for _ in range(3):
            host.record_usage(company, "messages", 1)
        assert host.flush(timeout=1) is False  # kept, not lost, while Partnerhub is down
        assert host.usage.pending() == 3
    finally:
        server.start()

    fresh = wait_until(
        lambda: not (e := host.entitlements(company)).stale and e, 30, "a fresh answer"
    )
    assert fresh.has("seating")
    real = wait_until(
        lambda: (e := host.entitlements(never_read)).source != "fallback" and e,
        30,
        "the fallback to give way",
    )
    assert real.has("seating") and not real.stale
    assert host.flush(timeout=30)
    assert admin.get_usage(company).limits["messages"].used == 3
    host.close()


def test_a_revoked_key_gives_a_clear_error(
    server: LivePartnerhub, admin: Partnerhub, world: World
) -> None:
    created = admin.create_api_key({"scope": "platform", "name": "to revoke"})
    host = world.host(server.url, created.key)
    company = world.company_ids[0]
    assert host.entitlements(company).has("seating")
    admin.revoke_api_key(created.id)

    host.cache.invalidate(company)
    with pytest.raises(AuthenticationError) as caught:
        host.entitlements(company)
    assert caught.value.status == 401
    assert "revoked" in str(caught.value) and "partnerhub apikey create" in str(caught.value)
    with pytest.raises(AuthenticationError):
        host.get_company(company)
    host.close()


def test_usage_is_batched_and_consume_is_idempotent(
    server: LivePartnerhub, platform_key: str, admin: Partnerhub, world: World
) -> None:
    host = world.host(server.url, platform_key, usage_batch_size=4)
    company = world.company_ids[0]
    ids = [host.record_usage(company, "messages", 1) for _ in range(6)]
    assert len(set(ids)) == 6
    assert host.flush(timeout=30)
    assert host.usage.sent == 6
    assert admin.get_usage(company).limits["messages"].used == 6

    first = host.consume(company, "messages", 3, id="req-1")
    again = host.consume(company, "messages", 3, id="req-1")  # a retry: counts once
    assert first.allowed and again.allowed
    assert admin.get_usage(company).limits["messages"].used == 9
    refused = host.consume(company, "messages", 2)  # 9 + 2 > 10
    assert not refused.allowed
    assert admin.get_usage(company).limits["messages"].used == 9
    host.close()
