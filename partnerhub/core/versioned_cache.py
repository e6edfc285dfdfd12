"""Reads and writes of entries whose key names their content (versioned cache keys).

The entitlements and plan-list entries are keyed on the versions of everything they
show (companies/cache.py, resellers/versions.py): a key, once written, always maps to
the same body. So a web process may keep its own copy of an entry in front of a shared
cache such as Redis without ever serving a stale one, and a hit then costs no network
round trip. With the default local-memory cache there is no shared tier and this
module passes straight through to it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from django.core.cache import cache, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache

LOCAL_ENTRIES = 20_000  # about 40 MB of 1-2 KB bodies per web process

_local: OrderedDict[str, Any] = OrderedDict()
_lock = threading.Lock()


def _shared() -> bool:
    """Whether the configured cache lives outside this process (not local memory, and not
    the dummy cache, which must keep nothing)."""
    return not isinstance(caches["default"], LocMemCache | DummyCache)


def versioned_get(key: str) -> Any | None:
    if not _shared():
        return cache.get(key)
    with _lock:
        value = _local.get(key)
        if value is not None:
            _local.move_to_end(key)
            return value
    value = cache.get(key)
    if value is not None:
        _remember(key, value)
    return value


def versioned_set(key: str, value: Any, timeout: int) -> None:
    cache.set(key, value, timeout)
    if _shared():
        _remember(key, value)


def _remember(key: str, value: Any) -> None:
    with _lock:
        _local[key] = value
        _local.move_to_end(key)
        while len(_local) > LOCAL_ENTRIES:
            _local.popitem(last=False)


def versioned_clear_local() -> None:
    """Forget this process's copies (tests: a rolled-back database reuses versions)."""
    with _lock:
        _local.clear()
