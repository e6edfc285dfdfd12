"""The webhooks loop of `partnerhub worker`: fan-outs first, then due deliveries.

It runs in a thread beside django-tasks-db's loop and polls the outbox tables; all the
state is in rows with leases, so any number of workers can run it at once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections, connection

from partnerhub.webhooks.delivery import deliveries_send_round, http_client
from partnerhub.webhooks.fanout import fanout_claim, fanout_run_batch

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.25
# A fan-out yields to deliveries after this long, so a huge one does not hold them back.
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


def webhooks_round(
    worker_id: str, client: object, pool: ThreadPoolExecutor, concurrency: int
) -> int:
    """One round of work; answers how much was done (0: idle)."""
    done = fanout_work(worker_id)
    done += deliveries_send_round(client, pool, limit=concurrency * 4)  # type: ignore[arg-type]
    return done


def webhooks_loop(stop: threading.Event, *, poll: float = POLL_SECONDS) -> None:
    concurrency = max(1, settings.WEBHOOK_CONCURRENCY)
    worker_id = worker_identity()
    with (
        http_client(concurrency) as client,
        ThreadPoolExecutor(concurrency, thread_name_prefix="webhook") as pool,
    ):
        while not stop.is_set():
            busy = 0
            try:
                close_old_connections()
                busy = webhooks_round(worker_id, client, pool, concurrency)
            except Exception:  # keep serving; the leases make the next round retry
                logger.exception("Webhooks round failed")
                connection.close()
            if not busy:
                stop.wait(poll)
    connection.close()


def webhooks_thread(stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(target=webhooks_loop, args=(stop,), name="webhooks", daemon=True)
    thread.start()
    return thread
