"""Retries, backoff, Retry-After and idempotency ids, over httpx.MockTransport."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from partnerhub_client import (
    AuthenticationError,
    Partnerhub,
    RateLimited,
    ServerError,
    Unavailable,
    ValidationError,
)
from partnerhub_client._transport import backoff_delay, retry_after_seconds
from pydantic import ValidationError as PydanticValidationError

CONSUMED = {
    "kind": "metered",
    "value": 10,
    "used": 1,
    "remaining": 9,
    "over": False,
    "allowed": True,
}


def client(
    handler: Callable[[httpx.Request], httpx.Response], sleeps: list[float], **kw
) -> Partnerhub:
    return Partnerhub(
        "http://partnerhub.test",
        "ph_key",
        transport=httpx.MockTransport(handler),
        poll_interval=None,
        close_at_exit=False,
        sleep=sleeps.append,
        **kw,
    )


def scripted(
    *answers: httpx.Response | Exception,
) -> tuple[Callable[[httpx.Request], httpx.Response], list[httpx.Request]]:
    """A handler answering in turn, and the requests it saw."""
    seen: list[httpx.Request] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handler, seen


def error(status: int, code: str = "error", **headers: str) -> httpx.Response:
    body = {"error": {"code": code, "message": f"status {status}", "details": {}}}
    return httpx.Response(status, json=body, headers=headers)


def test_a_429_waits_out_retry_after_then_succeeds() -> None:
    handler, seen = scripted(
        error(429, "rate_limited", **{"Retry-After": "3"}), httpx.Response(200, json={"ok": True})
    )
    sleeps: list[float] = []
    ping = client(handler, sleeps).ping()
    assert ping.ok
    assert len(seen) == 2 and sleeps == [3.0]


def test_5xx_on_a_read_backs_off_exponentially_with_jitter() -> None:
    handler, seen = scripted(
        error(502), error(500), error(504), httpx.Response(200, json={"ok": True})
    )
    sleeps: list[float] = []
    client(handler, sleeps).ping()
    assert len(seen) == 4
    # Equal jitter: each wait lies in [step/2, step], the steps doubling from 0.25 s.
    for wait, step in zip(sleeps, (0.25, 0.5, 1.0), strict=True):
        assert step / 2 <= wait <= step


def test_retries_are_bounded_and_raise_a_typed_error() -> None:
    handler, seen = scripted(*[error(503)] * 3)
    with pytest.raises(ServerError) as caught:
        client(handler, [], max_retries=2).ping()
    assert caught.value.status == 503 and len(seen) == 3


def test_a_retry_after_beyond_the_cap_raises_at_once() -> None:
    handler, seen = scripted(error(429, "rate_limited", **{"Retry-After": "3600"}))
    sleeps: list[float] = []
    with pytest.raises(RateLimited):
        client(handler, sleeps).ping()
    assert len(seen) == 1 and sleeps == []


def test_a_500_on_a_create_is_not_repeated() -> None:
    """It may have been done before the answer was lost: the caller decides."""
    handler, seen = scripted(error(500))
    with pytest.raises(ServerError):
        client(handler, []).create_feature({"key": "k", "name": "K", "description": ""})
    assert len(seen) == 1


def test_a_connection_never_made_is_retried_even_for_a_create() -> None:
    created = {"key": "k", "name": "K", "description": "", "id": 1}
    handler, seen = scripted(httpx.ConnectError("refused"), httpx.Response(201, json=created))
    feature = client(handler, []).create_feature({"key": "k", "name": "K", "description": ""})
    assert feature.key == "k" and len(seen) == 2


def test_an_unreachable_server_raises_unavailable() -> None:
    handler, seen = scripted(*[httpx.ConnectError("refused")] * 5)
    with pytest.raises(Unavailable):
        client(handler, []).ping()
    assert len(seen) == 5


def test_errors_are_typed_and_401_explains_the_fix() -> None:
    handler, _ = scripted(error(401, "unauthenticated"), error(422, "validation_error"))
    api = client(handler, [])
    with pytest.raises(AuthenticationError, match="apikey create"):
        api.ping()
    with pytest.raises(ValidationError):
        api.ping()


def test_consume_gets_one_id_kept_across_retries() -> None:
    handler, seen = scripted(
        error(503), httpx.ReadTimeout("slow"), httpx.Response(200, json=CONSUMED)
    )
    result = client(handler, []).consume(11, "messages", 1)
    assert result.allowed
    ids = {json.loads(request.content)["id"] for request in seen}
    assert len(seen) == 3 and len(ids) == 1 and ids.pop().startswith("phc-")


def test_usage_events_without_ids_get_them() -> None:
    handler, seen = scripted(httpx.Response(200, json={"accepted": 2, "duplicates": 0}))
    event = {
        "company_id": 11,
        "limit": "messages",
        "quantity": 1,
        "timestamp": "2026-12-01T10:00:00Z",
    }
    client(handler, []).record_usage_events({"events": [event, {**event, "id": "mine"}]})
    sent = json.loads(seen[0].content)["events"]
    assert sent[0]["id"].startswith("phc-") and sent[1]["id"] == "mine"


def test_query_parameters_left_out_are_not_sent() -> None:
    handler, seen = scripted(httpx.Response(200, json={"items": [], "count": 0}))
    client(handler, []).list_plans(limit=5, archived="all")
    assert dict(seen[0].url.params) == {"limit": "5", "archived": "all"}


def test_a_request_body_is_validated_before_it_is_sent() -> None:
    handler, seen = scripted()
    with pytest.raises(PydanticValidationError, match="unknown_field"):
        client(handler, []).update_company(11, {"unknown_field": 1})
    assert seen == []


def test_backoff_and_retry_after_helpers() -> None:
    assert backoff_delay(0, base=1, cap=8, rand=lambda: 0.0) == 0.5
    assert backoff_delay(10, base=1, cap=8, rand=lambda: 1.0) == 8
    assert retry_after_seconds("7") == 7
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470) == 10
    assert retry_after_seconds("soon") is None
