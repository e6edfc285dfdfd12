"""The usage batcher: batches by size and by time, bounded queue, nothing lost on close."""

from __future__ import annotations

import json
import threading

import httpx
import pytest
from partnerhub_client import Partnerhub, UsageQueueFull
from partnerhub_client.errors import Unavailable
from partnerhub_client.usage import UsageBatcher


class Recorder:
    """A fake /usage/events: records batches; `fail` makes the next calls fail."""

    def __init__(self) -> None:
        self.batches: list[list[dict]] = []
        self.fail = 0
        self.lock = threading.Lock()
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.gate.wait(10)
        body = json.loads(request.content)
        with self.lock:
            if self.fail:
                self.fail -= 1
                return httpx.Response(503, json={"error": {"code": "x", "message": "down"}})
            self.batches.append(body["events"])
        return httpx.Response(200, json={"accepted": len(body["events"]), "duplicates": 0})

    def ids(self) -> list[str]:
        return [e["id"] for batch in self.batches for e in batch]


def make(recorder: Recorder, **options) -> Partnerhub:
    return Partnerhub(
        "http://partnerhub.test",
        "ph_key",
        transport=httpx.MockTransport(recorder),
        poll_interval=None,
        close_at_exit=False,
        max_retries=0,
        sleep=lambda s: None,
        **options,
    )


def test_a_full_batch_goes_at_once_and_the_rest_on_the_interval() -> None:
    recorder = Recorder()
    client = make(recorder, usage_batch_size=3, usage_flush_interval=0.05)
    ids = [client.record_usage(11, "messages", 1) for _ in range(7)]
    assert client.flush(timeout=10)
    assert sorted(recorder.ids()) == sorted(ids)
    assert [len(b) for b in recorder.batches][:2] == [3, 3]
    assert all(len(b) <= 3 for b in recorder.batches)
    client.close()


def test_each_event_carries_its_own_id_and_the_time_it_happened() -> None:
    recorder = Recorder()
    client = make(recorder)
    client.record_usage(11, "messages", 2, id="evt-1")
    client.close()
    (event,) = recorder.batches[0]
    assert event["id"] == "evt-1" and event["quantity"] == 2 and event["timestamp"].endswith("Z")


def test_close_flushes_everything_queued() -> None:
    recorder = Recorder()
    client = make(recorder, usage_batch_size=1000, usage_flush_interval=60)
    for _ in range(250):
        client.record_usage(11, "messages", 1)
    client.close()
    assert len(recorder.ids()) == 250


def test_a_batch_that_fails_is_sent_again_with_the_same_ids() -> None:
    recorder = Recorder()
    recorder.fail = 2
    client = make(recorder, usage_flush_interval=0.01)
    client.usage.retry_base = 0.01
    ids = [client.record_usage(11, "messages", 1) for _ in range(5)]
    assert client.flush(timeout=10)
    assert recorder.ids() == ids
    client.close()


def test_the_queue_is_bounded() -> None:
    recorder = Recorder()
    recorder.gate.clear()  # Partnerhub stalls: nothing leaves the queue
    client = make(recorder, usage_max_queue=5, usage_batch_size=5, usage_enqueue_timeout=0.05)
    for _ in range(5):
        client.record_usage(11, "messages", 1)
    with pytest.raises(UsageQueueFull):
        client.record_usage(11, "messages", 1)
    recorder.gate.set()
    assert client.flush(timeout=10)
    client.record_usage(11, "messages", 1)  # room again
    client.close()
    assert len(recorder.ids()) == 6


def test_refused_events_are_dropped_and_reported_the_rest_sent() -> None:
    sent: list[list[dict]] = []
    reported: list[list[dict]] = []

    def send(batch: list[dict]) -> None:
        from partnerhub_client.errors import ValidationError

        if any(e["quantity"] < 0 for e in batch):
            bad = next(i for i, e in enumerate(batch) if e["quantity"] < 0)
            raise ValidationError(
                422, "validation_error", "bad", {f"events[{bad}].quantity": ["x"]}
            )
        sent.append(batch)

    batcher = UsageBatcher(send, on_error=lambda events, exc: reported.append(events))
    for quantity in (1, -1, 2):
        batcher.add({"id": f"e{quantity}", "quantity": quantity})
    batcher.close(timeout=10)
    assert [e["id"] for e in sent[0]] == ["e1", "e2"]
    assert [e["id"] for e in reported[0]] == ["e-1"]
    assert batcher.dropped == 1


def test_close_gives_up_after_its_timeout_while_partnerhub_is_down() -> None:
    def send(batch: list[dict]) -> None:
        raise Unavailable("down")

    batcher = UsageBatcher(send, retry_base=0.01, retry_max=0.02)
    batcher.add({"id": "e1"})
    batcher.add({"id": "e2"})
    assert batcher.close(timeout=0.2) is False
    assert sorted(e["id"] for e in batcher.unsent) == ["e1", "e2"]
    assert batcher.pending() == 0
