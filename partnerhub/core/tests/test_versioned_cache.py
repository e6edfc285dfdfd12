"""The process-local tier in front of a shared cache, for versioned keys."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache
from django.test import override_settings

from partnerhub.core import versioned_cache
from partnerhub.core.versioned_cache import versioned_get, versioned_set


def _redis() -> dict[str, object]:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/15",
            "KEY_PREFIX": f"partnerhub-vc-test-{uuid.uuid4().hex}",
        }
    }


def test_local_memory_is_used_as_it_is() -> None:
    versioned_set("k", b"body", 60)

    assert cache.get("k") == b"body"
    assert versioned_get("k") == b"body"
    cache.delete("k")
    assert versioned_get("k") is None  # no second copy of a process-local cache


def test_the_dummy_cache_keeps_nothing() -> None:
    with override_settings(
        CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    ):
        versioned_set("k", b"body", 60)
        assert versioned_get("k") is None


def test_in_front_of_redis_the_copy_answers_and_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(versioned_cache, "LOCAL_ENTRIES", 2)
    with override_settings(CACHES=_redis()):
        for name in ("a", "b", "c"):
            versioned_set(name, name.encode(), 60)
        cache.delete_many(["a", "b", "c"])  # only the process's copies are left

        assert versioned_get("a") is None  # evicted: the oldest of three, over a bound of 2
        assert versioned_get("b") == b"b"
        assert versioned_get("c") == b"c"


def test_a_value_read_from_redis_is_kept_for_the_next_read() -> None:
    with override_settings(CACHES=_redis()):
        cache.set("shared", b"from another process", 60)
        assert versioned_get("shared") == b"from another process"
        cache.delete("shared")
        assert versioned_get("shared") == b"from another process"
