"""The in-process entitlements cache: a check is a dict lookup, kept fresh by webhooks.

How an answer stays right, in order of speed:
1. `company.entitlements_changed` webhooks (receivers in webhooks.py) write the new
   body into the cache the moment Partnerhub's worker delivers them;
2. the catch-up poller reads `GET /api/v1/events?type=company.entitlements_changed&since=`
   every `poll_interval` seconds and at once when Partnerhub answers again after an
   outage: what a missed webhook (receiver down, another process of the host received
   it) would have said;
3. an entry not confirmed for `max_age` seconds is revalidated on its next read with
   `If-None-Match` (a 304 costs Partnerhub one query and no body): the staleness bound
   if both of the above failed.

When Partnerhub is down, a read serves the last known entitlements with `stale=True`
(logged once per outage) and tries again at most every `retry_interval` seconds; a
company never read before gets the caller's static fallback (`Fallback`), also
`stale=True`, and is fetched as soon as Partnerhub answers.
"""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from partnerhub_client.errors import ApiError, ServerError, Unavailable

if TYPE_CHECKING:
    from partnerhub_client._transport import Transport

logger = logging.getLogger("partnerhub_client")

Source = Literal["partnerhub", "webhook", "events", "fallback"]
_MISSING: Any = object()
# A fetched body and an event within this many seconds of each other (server clocks, the
# `Date` header has whole seconds) cannot be ordered: the entry is revalidated instead.
ORDER_MARGIN_SECONDS = 1.0


@dataclass(frozen=True)
class Fallback:
    """What a company is entitled to while Partnerhub cannot say (never read, and down)."""

    features: frozenset[str] = frozenset()
    limits: Mapping[str, int | None] = field(default_factory=dict)

    @classmethod
    def of(
        cls, features: Iterable[str] = (), limits: Mapping[str, int | None] | None = None
    ) -> Fallback:
        return cls(frozenset(features), dict(limits or {}))


@dataclass(frozen=True, slots=True)
class Entitlements:
    """One company's effective entitlements, as of `etag`. Immutable: a change replaces it.

    `stale` is True when Partnerhub could not confirm them within `max_age` (it is down),
    or when they are the caller's fallback (`source == "fallback"`)."""

    company_id: int
    features: frozenset[str]
    limits: Mapping[str, int | None]
    body: Mapping[str, Any]
    etag: str | None
    source: Source
    stale: bool = False

    def has(self, feature: str) -> bool:
        """Is the feature on (plan minus exclusions, plus direct features)?"""
        return feature in self.features

    def limit(self, key: str, default: Any = _MISSING) -> int | None:
        """The limit's value; None means unlimited. An unknown key raises KeyError, or
        answers `default` when given."""
        try:
            return self.limits[key]
        except KeyError:
            if default is _MISSING:
                raise KeyError(
                    f"no limit {key!r} in company {self.company_id}'s entitlements"
                ) from None
            return default  # type: ignore[no-any-return]

    @property
    def plan(self) -> Mapping[str, Any] | None:
        plan: Mapping[str, Any] | None = self.body.get("plan")
        return plan

    @classmethod
    def from_body(cls, body: Mapping[str, Any], etag: str | None, source: Source) -> Entitlements:
        return cls(
            company_id=int(body["company_id"]),
            features=frozenset(f["key"] for f in body.get("features", ())),
            limits={key: limit.get("value") for key, limit in body.get("limits", {}).items()},
            body=body,
            etag=etag,
            source=source,
        )


@dataclass(slots=True)
class _Entry:
    snapshot: Entitlements
    fresh_until: float  # monotonic: past it, the next read revalidates
    # Server time (epoch seconds) the body is known to be as of: an event created before
    # it is older news.
    as_of: float
    # as_of is an event's own time (exact, and events of one company are ordered), not a
    # fetch's `Date` (whole seconds, taken while the read may have raced a change).
    from_event: bool = False


class EntitlementsCache:
    def __init__(
        self,
        transport: Transport,
        *,
        max_age: float = 300.0,
        retry_interval: float = 5.0,
        timeout: float = 2.0,
        fallback: Fallback | Callable[[int], Fallback] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transport = transport
        self.max_age = max_age
        self.retry_interval = retry_interval
        self.timeout = timeout
        self._fallback = fallback or Fallback()
        self._clock = clock
        self._entries: dict[int, _Entry] = {}
        self._locks: dict[int, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._last_probe = -float("inf")  # monotonic time of the last read that tried

    # -- the read path -------------------------------------------------------------

    def get(self, company_id: int) -> Entitlements:
        entry = self._entries.get(company_id)
        if entry is not None and entry.fresh_until > self._clock():
            return entry.snapshot
        return self._refresh(company_id)

    def peek(self, company_id: int) -> Entitlements | None:
        """The cached entitlements as they are, fresh or not, without any request."""
        entry = self._entries.get(company_id)
        return entry.snapshot if entry is not None else None

    def company_ids(self) -> list[int]:
        return list(self._entries)

    def _lock_for(self, company_id: int) -> threading.Lock:
        lock = self._locks.get(company_id)
        if lock is None:
            with self._locks_lock:
                lock = self._locks.setdefault(company_id, threading.Lock())
        return lock

    def _refresh(self, company_id: int) -> Entitlements:
        # One request per company at a time: concurrent readers of an expired entry wait
        # for the first one's answer instead of sending their own.
        with self._lock_for(company_id):
            entry = self._entries.get(company_id)
            now = self._clock()
            if entry is not None and entry.fresh_until > now:
                return entry.snapshot
            # While Partnerhub is known to be down, one read per `retry_interval` probes
            # it; the others serve what is cached at once instead of each waiting for a
            # connection that fails (up to `timeout` on a network that drops packets).
            down = self._transport.down_since is not None
            if down and entry is not None and now - self._last_probe < self.retry_interval:
                return self._keep_stale(company_id, entry, now)
            self._last_probe = now
            try:
                return self._fetch(company_id, entry)
            except (Unavailable, ServerError) as exc:
                return self._serve_without_partnerhub(company_id, entry, exc)

    def _keep_stale(self, company_id: int, entry: _Entry, now: float) -> Entitlements:
        snapshot = entry.snapshot if entry.snapshot.stale else replace(entry.snapshot, stale=True)
        self._entries[company_id] = _Entry(
            snapshot, now + self.retry_interval, entry.as_of, entry.from_event
        )
        return snapshot

    def _fetch(self, company_id: int, entry: _Entry | None) -> Entitlements:
        headers = {"If-None-Match": entry.snapshot.etag} if entry and entry.snapshot.etag else None
        response = self._transport.request(
            "GET",
            f"/api/v1/companies/{company_id}/entitlements",
            headers=headers,
            timeout=self.timeout,
            # No retry on the check path: a failure serves the last known value at once,
            # and the next read after `retry_interval` tries again.
            max_retries=0,
            accept=frozenset({304}),
        )
        as_of = _server_time(response.headers.get("Date"))
        if response.status_code == 304 and entry is not None:
            snapshot = entry.snapshot
            if snapshot.stale or snapshot.source == "fallback":
                snapshot = replace(snapshot, stale=False)
        else:
            snapshot = Entitlements.from_body(
                response.json(), response.headers.get("ETag"), "partnerhub"
            )
        self._entries[company_id] = _Entry(snapshot, self._clock() + self.max_age, as_of)
        return snapshot

    def _serve_without_partnerhub(
        self, company_id: int, entry: _Entry | None, exc: ApiError | Unavailable
    ) -> Entitlements:
        retry_at = self._clock() + self.retry_interval
        if entry is not None:
            snapshot = (
                entry.snapshot if entry.snapshot.stale else replace(entry.snapshot, stale=True)
            )
            logger.warning(
                "Partnerhub unavailable (%s): serving company %s's last known entitlements",
                exc,
                company_id,
            )
            self._entries[company_id] = _Entry(snapshot, retry_at, entry.as_of, entry.from_event)
            return snapshot
        fallback = self._fallback(company_id) if callable(self._fallback) else self._fallback
        snapshot = Entitlements(
            company_id=company_id,
            features=fallback.features,
            limits=fallback.limits,
            body={"company_id": company_id, "features": [], "limits": {}, "plan": None},
            etag=None,
            source="fallback",
            stale=True,
        )
        logger.warning(
            "Partnerhub unavailable (%s): company %s gets the static fallback", exc, company_id
        )
        # as_of 0: any event about the company is news.
        self._entries[company_id] = _Entry(snapshot, retry_at, 0.0)
        return snapshot

    # -- the write path: webhooks and the catch-up -----------------------------------

    def apply(
        self,
        company_id: int,
        body: Mapping[str, Any],
        etag: str | None,
        created_at: datetime,
        source: Source,
    ) -> bool:
        """A `company.entitlements_changed` event's body. Answers whether it changed the
        cache. Only companies this process has read are kept (the others are fetched on
        their first read); an event older than what is cached is ignored."""
        with self._lock_for(company_id):
            entry = self._entries.get(company_id)
            if entry is None:
                return False
            if (
                etag is not None
                and entry.snapshot.etag == etag
                and entry.snapshot.source != "fallback"
            ):
                entry.fresh_until = max(entry.fresh_until, self._clock() + self.max_age)
                return False
            at = created_at.timestamp()
            if entry.from_event:
                if at < entry.as_of:
                    return False  # a retry of older news arriving late
            elif at < entry.as_of - ORDER_MARGIN_SECONDS:
                return False  # older news than what was fetched
            elif at <= entry.as_of + ORDER_MARGIN_SECONDS:
                # Cannot tell which is newer: ask Partnerhub on the next read.
                entry.fresh_until = 0.0
                return True
            snapshot = Entitlements.from_body(body, etag, source)
            self._entries[company_id] = _Entry(snapshot, self._clock() + self.max_age, at, True)
            return True

    def invalidate(self, company_id: int | None = None) -> None:
        """Revalidate on the next read: one company, or every one."""
        targets = [company_id] if company_id is not None else list(self._entries)
        for target in targets:
            entry = self._entries.get(target)
            if entry is not None:
                entry.fresh_until = 0.0

    def forget(self, company_id: int | None = None) -> None:
        if company_id is None:
            self._entries.clear()
        else:
            self._entries.pop(company_id, None)


def _server_time(date_header: str | None) -> float:
    """The answer's `Date` (Partnerhub's clock, like the events' timestamps), else ours."""
    if date_header:
        try:
            return email.utils.parsedate_to_datetime(date_header).timestamp()
        except (TypeError, ValueError):
            pass
    return time.time()
