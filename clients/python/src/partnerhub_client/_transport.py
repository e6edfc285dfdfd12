"""HTTP with retries: exponential backoff with jitter on 429, 5xx and dropped connections.

What is retried, and why only that:
- a connection that could not be made (`ConnectError`, `ConnectTimeout`): the request
  never reached Partnerhub, so any request may go again;
- 429 and 503: Partnerhub refused the request before doing anything (`Retry-After`, when
  sent, is waited out, up to `max_retry_after`; a longer wait raises at once rather than
  blocking the caller for minutes);
- other 5xx and a read that timed out, only for requests that are safe to repeat: reads,
  PUT/DELETE, and the writes this client gives an idempotency id (usage events, consume).
  A POST that creates something might have been done before the answer was lost.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from partnerhub_client.errors import ApiError, Unavailable, error_for_status

logger = logging.getLogger("partnerhub_client")

RETRY_ALWAYS = frozenset({429, 503})
RETRY_IF_SAFE = frozenset({500, 502, 504})


def backoff_delay(attempt: int, *, base: float, cap: float, rand: Callable[[], float]) -> float:
    """Exponential backoff with "equal jitter": half the step fixed, half random, so
    retries of many clients spread out but none retries at once."""
    step: float = min(cap, base * 2.0**attempt)
    return step / 2 + rand() * step / 2


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """`Retry-After` as seconds to wait: delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class Transport:
    """One `httpx.Client` (keep-alive, thread-safe) and the retry loop around it."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        max_retries: int = 4,
        backoff_base: float = 0.25,
        backoff_max: float = 8.0,
        max_retry_after: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        from partnerhub_client import __version__

        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self._sleep = sleep
        self._rand = rand
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={
                "Authorization": f"Bearer {api_key}",
                "User-Agent": f"partnerhub-client-python/{__version__}",
                "Accept": "application/json",
            },
            timeout=timeout,
            transport=transport,
        )
        # Reachability, for the entitlements cache (serve stale while down) and the
        # catch-up (a gap closes when Partnerhub answers again).
        self._lock = threading.Lock()
        self.down_since: float | None = None
        self.on_recovered: list[Callable[[], object]] = []

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        safe: bool | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        accept: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        """The answer (2xx, or a status in `accept`), or a typed error once retries are
        spent. `safe`: may the request be repeated after it may have reached the server
        (default: reads, PUT and DELETE)."""
        if safe is None:
            safe = method in ("GET", "HEAD", "OPTIONS", "PUT", "DELETE")
        retries = self.max_retries if max_retries is None else max_retries
        extra: dict[str, Any] = {}
        if timeout is not None:
            extra["timeout"] = timeout
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    method, path, params=params, json=json, headers=headers, **extra
                )
            except httpx.TransportError as exc:
                never_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
                if attempt >= retries or not (safe or never_sent):
                    self._mark_down()
                    raise Unavailable(
                        f"Partnerhub unreachable ({method} {path}): {exc!r}"
                        + (f" after {attempt + 1} attempts" if attempt else "")
                    ) from exc
                self._sleep(self._delay(attempt, None))
                attempt += 1
                continue
            status = response.status_code
            if status in RETRY_ALWAYS or (safe and status in RETRY_IF_SAFE):
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                if attempt < retries and (wait is None or wait <= self.max_retry_after):
                    logger.info("Partnerhub answered %s to %s %s; retrying", status, method, path)
                    self._sleep(self._delay(attempt, wait))
                    attempt += 1
                    continue
            if status >= 500:
                self._mark_down()
            else:
                self._mark_up()
            if status < 300 or status in accept:
                return response
            raise self._error(response, method, path)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        return backoff_delay(attempt, base=self.backoff_base, cap=self.backoff_max, rand=self._rand)

    def _mark_down(self) -> None:
        with self._lock:
            if self.down_since is None:
                self.down_since = time.monotonic()
                logger.warning("Partnerhub is unreachable: serving cached entitlements")

    def _mark_up(self) -> None:
        if self.down_since is None:  # the common case, without the lock
            return
        with self._lock:
            if self.down_since is None:
                return
            self.down_since = None
        logger.warning("Partnerhub answers again")
        for callback in list(self.on_recovered):
            callback()

    @staticmethod
    def _error(response: httpx.Response, method: str, path: str) -> ApiError:
        code, message, details = "error", response.reason_phrase or "", None
        try:
            body = response.json()["error"]
            code, message, details = body["code"], body["message"], body.get("details")
        except (ValueError, KeyError, TypeError):
            pass
        cls = error_for_status(response.status_code)
        return cls(response.status_code, code, message, details, method=method, path=path)
