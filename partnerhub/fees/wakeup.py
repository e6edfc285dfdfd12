"""Waking idle workers when there is recalculation work (PostgreSQL: LISTEN/NOTIFY).

An idle worker polls for tasks and for running jobs to help with. A poll interval is a
delay on every job's start, and another on each helper's join: on a job that takes two
seconds, 0.1-0.2 s each (docs/benchmarks.md, "Fee recalculation"). On PostgreSQL the
code that makes work sends a notification in its own transaction, so it reaches the
listeners exactly when the work is visible to them:

- `recalculation_enqueue` and recovery's re-enqueue: a job's task is ready;
- a job's owner, once its chunks are planned: helpers can join.

Each worker process runs one `listen_loop` thread on a connection of its own; it wakes
the task loop and the help loop (`Wakeup`). The polls stay as a fallback (a
notification sent while a listener reconnects is lost), only longer. SQLite has no
notifications: its worker keeps polling.
"""

from __future__ import annotations

import logging
import threading

from django.db import connection

logger = logging.getLogger(__name__)

CHANNEL = "partnerhub_recalc"
# How long a listener waits for a notification before it checks whether to stop.
LISTEN_TIMEOUT_SECONDS = 1.0
RECONNECT_DELAY_SECONDS = 1.0


def notifications_supported() -> bool:
    return connection.vendor == "postgresql"


def recalc_wake_workers() -> None:
    """Wake idle workers when the current transaction commits (nothing if it rolls back)."""
    if notifications_supported():
        with connection.cursor() as cur:
            cur.execute("SELECT pg_notify(%s, '')", [CHANNEL])


class Wakeup:
    """Threads that wait for work, woken together when some may have arrived."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._generation = 0

    def wake(self) -> None:
        with self._condition:
            self._generation += 1
            self._condition.notify_all()

    def mark(self) -> int:
        """Take before looking for work, and pass to `wait`: a wake-up that comes while
        the caller looks is not missed."""
        with self._condition:
            return self._generation

    def wait(self, timeout: float, since: int | None = None) -> bool:
        """Sleep up to `timeout` seconds, unless woken (after `since`, if given); True
        when woken."""
        with self._condition:
            seen = self._generation if since is None else since
            return self._condition.wait_for(lambda: self._generation != seen, timeout)


def listen_loop(wakeup: Wakeup, stop: threading.Event) -> None:
    """Wake `wakeup` on every notification of CHANNEL until `stop` is set (run in a
    thread of its own: it holds the thread's database connection)."""
    while not stop.is_set():
        try:
            connection.ensure_connection()
            raw = connection.connection
            assert raw is not None
            with connection.cursor() as cur:  # autocommit: LISTEN takes effect at once
                cur.execute(f"LISTEN {CHANNEL}")
            wakeup.wake()  # anything sent while we were not listening is looked at now
            while not stop.is_set():
                for _ in raw.notifies(timeout=LISTEN_TIMEOUT_SECONDS):
                    wakeup.wake()
        except Exception:  # reconnect; the polls cover the gap
            logger.exception("Listening for recalculation work failed; reconnecting")
            stop.wait(RECONNECT_DELAY_SECONDS)
        finally:
            connection.close()
