"""Usage events in batches: `record_usage` queues, a background thread sends.

- The queue is bounded (`max_queue`): when Partnerhub is slower than the host for long,
  `record_usage` waits up to `enqueue_timeout` for room, then raises `UsageQueueFull`,
  instead of growing the host's memory without end.
- A batch goes when it holds `batch_size` events (at most 1,000, the API's limit) or the
  oldest queued event has waited `flush_interval` seconds.
- Each event gets its id when it is recorded (`phc-<uuid4>` unless the caller names one),
  and its timestamp then too, so a batch sent again after a lost answer counts once
  (Partnerhub answers `duplicates` for it) and lands in the right usage period.
- A batch that cannot be sent (Partnerhub down) is kept and sent again with backoff:
  nothing is dropped but what Partnerhub refuses (a 422 naming an event, a 409 for an
  id reused with other content: logged, given to `on_error`, the rest sent).
- `flush()` waits until everything queued is sent; `close()` (also run at exit) flushes
  within `close_timeout` and stops the thread.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from partnerhub_client.errors import (
    ApiError,
    Conflict,
    PartnerhubError,
    UsageQueueFull,
    ValidationError,
)

logger = logging.getLogger("partnerhub_client")

MAX_BATCH = 1000
_INDEX = re.compile(r"^events\[(\d+)\]")
Event = dict[str, Any]


class UsageBatcher:
    def __init__(
        self,
        send: Callable[[list[Event]], object],
        *,
        batch_size: int = 500,
        flush_interval: float = 1.0,
        max_queue: int = 100_000,
        enqueue_timeout: float = 5.0,
        retry_base: float = 0.5,
        retry_max: float = 30.0,
        on_error: Callable[[list[Event], PartnerhubError], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be 1 to {MAX_BATCH}")
        self._send = send
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_queue = max_queue
        self.enqueue_timeout = enqueue_timeout
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.on_error = on_error
        self._clock = clock
        self._queue: deque[tuple[float, Event]] = deque()
        self._in_flight = 0
        self._cond = threading.Condition()
        self._closed = False
        self._abandoned = False  # close() timed out: stop retrying
        self._thread: threading.Thread | None = None
        self.unsent: list[Event] = []  # what a timed-out close() left unsent
        self.sent = 0  # events Partnerhub accepted (duplicates included)
        self.dropped = 0  # events Partnerhub refused

    # -- the caller's side ------------------------------------------------------------

    def add(self, event: Event) -> None:
        with self._cond:
            if self._closed:
                raise RuntimeError("the usage batcher is closed")
            deadline = self._clock() + self.enqueue_timeout
            while len(self._queue) + self._in_flight >= self.max_queue:
                left = deadline - self._clock()
                if left <= 0:
                    raise UsageQueueFull(
                        f"{self.max_queue} usage events wait to be sent; Partnerhub is not "
                        "taking them fast enough"
                    )
                self._cond.wait(left)
            self._queue.append((self._clock(), event))
            self._start()
            if len(self._queue) >= self.batch_size:
                self._cond.notify_all()

    def pending(self) -> int:
        with self._cond:
            return len(self._queue) + self._in_flight

    def flush(self, timeout: float | None = None) -> bool:
        """Send everything queued now; True when all of it went within `timeout`."""
        deadline = None if timeout is None else self._clock() + timeout
        with self._cond:
            self._flush_requested = True
            self._cond.notify_all()
            while self._queue or self._in_flight:
                if self._thread is None:
                    self._start()
                left = None if deadline is None else deadline - self._clock()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left if left is not None else 0.5)
            return True

    def close(self, timeout: float = 30.0) -> bool:
        """Flush (within `timeout`) and stop the thread; later `add`s raise."""
        done = self.flush(timeout)
        with self._cond:
            self._closed = True
            self._abandoned = not done
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=5)
        if not done:
            with self._cond:
                self.unsent += [event for _, event in self._queue]
                self._queue.clear()
            logger.error(
                "%d usage events were not sent before close (kept in .unsent)", len(self.unsent)
            )
        return done

    # -- the thread -------------------------------------------------------------------

    _flush_requested = False

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name="partnerhub-usage-flusher", daemon=True
            )
            self._thread.start()

    def _take(self) -> list[Event] | None:
        """The next batch, once one is due; None when closed and empty."""
        with self._cond:
            while True:
                if self._abandoned:
                    return None  # close() gave up: what is queued stays in .unsent
                if self._queue:
                    due = (
                        len(self._queue) >= self.batch_size
                        or self._flush_requested
                        or self._closed
                        or self._clock() - self._queue[0][0] >= self.flush_interval
                    )
                    if due:
                        count = min(self.batch_size, len(self._queue))
                        batch = [self._queue.popleft()[1] for _ in range(count)]
                        self._in_flight += len(batch)
                        if not self._queue:
                            self._flush_requested = False
                        return batch
                    wait = self.flush_interval - (self._clock() - self._queue[0][0])
                    self._cond.wait(max(wait, 0.001))
                elif self._closed:
                    return None
                else:
                    self._flush_requested = False
                    self._cond.wait()

    def _run(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            try:
                self._deliver(batch)
            finally:
                with self._cond:
                    self._in_flight -= len(batch)
                    self._cond.notify_all()

    def _deliver(self, batch: list[Event]) -> None:
        attempt = 0
        while batch:
            try:
                self._send(batch)
                self.sent += len(batch)
                return
            except (ValidationError, Conflict) as exc:
                refused = _refused(batch, exc)
                self.dropped += len(refused)
                logger.error("Partnerhub refused %d usage events: %s", len(refused), exc)
                if self.on_error is not None:
                    self.on_error(refused, exc)
                gone = {id(event) for event in refused}
                batch = [event for event in batch if id(event) not in gone]
            except PartnerhubError as exc:
                if isinstance(exc, ApiError) and exc.status < 500 and exc.status != 429:
                    # 401/403/404: sending again will not help; keep nothing silently.
                    self.dropped += len(batch)
                    logger.error("usage events not accepted: %s", exc)
                    if self.on_error is not None:
                        self.on_error(batch, exc)
                    return
                delay = min(self.retry_max, self.retry_base * 2.0 ** min(attempt, 30))
                logger.warning("usage events not sent (%s); again in %.1f s", exc, delay)
                attempt += 1
                with self._cond:
                    # A close() waits no longer than its timeout for this.
                    if not self._abandoned:
                        self._cond.wait(delay)
                    if self._abandoned:
                        self.unsent += batch
                        return


def _refused(batch: list[Event], exc: ApiError) -> list[Event]:
    """The events an error names (`events[3].quantity`, or a conflicting id); all of the
    batch when it names none."""
    if isinstance(exc, Conflict):
        ids = set(exc.details.get("id", []))
        named = [event for event in batch if event["id"] in ids]
        return named or list(batch)
    indexes = {int(m.group(1)) for key in exc.details if (m := _INDEX.match(key))}
    named = [event for i, event in enumerate(batch) if i in indexes]
    return named or list(batch)
