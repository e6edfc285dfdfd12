"""The webhooks loops of `partnerhub worker`: fan-outs, and due deliveries.

They run in threads beside django-tasks-db's loop and poll the outbox tables; all the
state is in rows with leases, so any number of workers can run them at once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection

from partnerhub.webhooks.delivery import LANE_DEPTH, deliveries_pump, http_client
from partnerhub.webhooks.fanout import fanout_claim, fanout_run_batch

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.25
# A fan-out re-checks for older ones after this long.
FANOUT_SLICE_SECONDS = 1.0


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def fanout_work(worker_id: str, *, budget: float = FANOUT_SLICE_SECONDS) -> int:
    """Run fan-out batches for up to `budget` seconds; answer how many ran."""
    deadline = time.monotonic() + budget
    ran = 0
    while time.monotonic() < deadline:
        fanout = fanout_claim(worker_id)
        if fanout is None:
            break
        while time.monotonic() < deadline:
            ran += 1
            if not fanout_run_batch(fanout_id=fanout.pk, worker_id=worker_id):
                break
    return ran


def _loop(stop: threading.Event, work: Any, poll: float, what: str) -> None:
    while not stop.is_set():
        busy = 0
        try:
            close_old_connections()
            busy = work()
        except Exception:  # keep serving; the leases make the next round retry
            logger.exception("Webhooks %s round failed", what)
            connection.close()
        if not busy:
            stop.wait(poll)
    connection.close()


def fanout_loop(stop: threading.Event, *, poll: float = POLL_SECONDS) -> None:
    worker_id = worker_identity()
    _loop(stop, lambda: fanout_work(worker_id), poll, "fan-out")


def delivery_loop(stop: threading.Event, *, poll: float = POLL_SECONDS) -> None:
    """Rounds of up to `LANE_DEPTH` deliveries per thread, all over one keep-alive client,
    back to back while deliveries are due (`deliveries_pump`)."""
    concurrency = max(1, settings.WEBHOOK_CONCURRENCY)
    per_endpoint = max(1, min(settings.WEBHOOK_ENDPOINT_CONCURRENCY, concurrency))
    with (
        http_client(concurrency) as client,
        ThreadPoolExecutor(concurrency, thread_name_prefix="webhook") as pool,
    ):
        _loop(
            stop,
            lambda: deliveries_pump(
                client, pool, limit=concurrency * LANE_DEPTH, per_endpoint=per_endpoint
            ),
            poll,
            "delivery",
        )


class WebhooksThreads:
    """The fan-out loop and the delivery loop, each in its own thread (with its own
    database connection), so a fan-out of 10,000 companies never holds deliveries back."""

    def __init__(self, stop: threading.Event) -> None:
        self.threads = [
            threading.Thread(target=fanout_loop, args=(stop,), name="webhooks-fanout", daemon=True),
            threading.Thread(
                target=delivery_loop, args=(stop,), name="webhooks-delivery", daemon=True
            ),
        ]
        for thread in self.threads:
            thread.start()

    def join(self, timeout: float) -> None:
        for thread in self.threads:
            thread.join(timeout)


def webhooks_thread(stop: threading.Event) -> WebhooksThreads:
    return WebhooksThreads(stop)
