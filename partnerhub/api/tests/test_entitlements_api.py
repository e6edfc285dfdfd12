"""Entitlements over HTTP: the resolved configuration, its ETag, and a cache every write
that can change it invalidates — with the local-memory cache and with Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from partnerhub.api.tests.conftest import assert_error
from partnerhub.catalog.models import Feature
from partnerhub.companies.models import Company
from partnerhub.testing.factories import CompanyFactory

pytestmark = pytest.mark.django_db

REDIS_URL = "redis://127.0.0.1:6379/15"


def _redis_cache() -> dict[str, Any]:
    # A fresh key prefix instead of FLUSHDB: other test runs may share the Redis database.
    prefix = f"partnerhub-api-test-{uuid.uuid4().hex}"
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
            "TIMEOUT": 60,
        }
    }


@pytest.fixture(params=["locmem", "redis"])
def any_cache(request: Any) -> Iterator[str]:
    """Run the test with the default local-memory cache, then with Redis (CACHE_URL=redis://…)."""
    if request.param == "locmem":
        cache.clear()
        yield "locmem"
        cache.clear()
        return
    with override_settings(CACHES=_redis_cache()):
        yield "redis"


def _url(company: Company) -> str:
    return f"/api/v1/companies/{company.pk}/entitlements"


def _features(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [f["key"] for f in response.json()["features"]]


def test_entitlements_answer_the_resolved_configuration(api, keys, personas, any_cache) -> None:
    response = api.get(_url(personas.company_a), keys.company_a)

    assert response.status_code == 200
    body = response.json()
    assert body["company_id"] == personas.company_a.pk
    assert body["plan"] == {"id": personas.plan_a.pk, "name": "gold", "display_name": "Gold"}
    assert body["features"] == [
        {"key": "plans", "source": "plan"},
        {"key": "seating", "source": "plan"},
    ]
    assert body["limits"]["messages"] == {"value": 10000, "period": "month", "source": "plan"}
    assert body["fees"] == {"source": "plan", "schedule": [], "blended": {}}
    assert response["ETag"].startswith('"')


def test_if_none_match_with_the_current_etag_is_304(api, keys, personas, any_cache) -> None:
    etag = api.get(_url(personas.company_a), keys.admin_a)["ETag"]

    fresh = api.get(
        _url(personas.company_a), keys.admin_a, headers={"If-None-Match": f'"other", {etag}'}
    )
    weak = api.get(_url(personas.company_a), keys.admin_a, headers={"If-None-Match": f"W/{etag}"})
    stale = api.get(_url(personas.company_a), keys.admin_a, headers={"If-None-Match": '"old"'})

    assert (fresh.status_code, fresh.content, fresh["ETag"]) == (304, b"", etag)
    assert weak.status_code == 304
    assert stale.status_code == 200


def test_plan_edit_changes_entitlements_at_once(api, keys, personas, any_cache) -> None:
    before = api.get(_url(personas.company_a), keys.company_a)

    api.patch(
        f"/api/v1/plans/{personas.plan_a.pk}", keys.admin_a, {"version": 1, "features": ["plans"]}
    )
    after = api.get(
        _url(personas.company_a), keys.company_a, headers={"If-None-Match": before["ETag"]}
    )

    assert _features(after) == ["plans"]
    assert after["ETag"] != before["ETag"]


def test_company_edit_changes_entitlements_at_once(api, keys, personas, any_cache) -> None:
    api.get(_url(personas.company_a), keys.company_a)

    api.patch(
        f"/api/v1/companies/{personas.company_a.pk}",
        keys.admin_a,
        {"direct_features": ["vouchers"], "limit_overrides": {"team_members": 8}},
    )
    body = api.get(_url(personas.company_a), keys.company_a)

    assert _features(body) == ["plans", "seating", "vouchers"]
    assert body.json()["limits"]["team_members"] == {
        "value": 8,
        "period": "none",
        "source": "override",
    }


def test_reseller_losing_a_feature_changes_entitlements_at_once(
    api, keys, personas, any_cache, django_capture_on_commit_callbacks
) -> None:
    api.get(_url(personas.company_a), keys.company_a)

    # The invalidation runs when the write commits (the test's transaction never does).
    with django_capture_on_commit_callbacks(execute=True):
        response = api.patch(
            f"/api/v1/resellers/{personas.reseller_a.pk}",
            keys.platform,
            {"features": ["plans", "vouchers", "api_access"]},
        )

    assert response.status_code == 200, response.content
    assert _features(api.get(_url(personas.company_a), keys.company_a)) == ["plans"]


def test_catalog_limit_change_reaches_cached_entitlements(
    api, keys, personas, any_cache, django_capture_on_commit_callbacks
) -> None:
    api.get(_url(personas.company_a), keys.company_a)

    with django_capture_on_commit_callbacks(execute=True):
        created = api.post(
            "/api/v1/limits", keys.platform, {"key": "storage_gb", "name": "Storage", "unit": "GB"}
        )
    limits = api.get(_url(personas.company_a), keys.company_a).json()["limits"]

    assert created.status_code == 201
    assert limits["storage_gb"] == {"value": None, "period": "none", "source": "unset"}


def test_another_tenants_entitlements_are_404(api, keys, personas, any_cache) -> None:
    sibling = CompanyFactory(reseller=personas.reseller_a)

    assert_error(api.get(_url(personas.company_a), keys.admin_b), 404)
    assert_error(api.get(_url(sibling), keys.company_a), 404)


def test_viewer_reads_entitlements(api, keys, personas) -> None:
    assert _features(api.get(_url(personas.company_a), keys.viewer_a)) == ["plans", "seating"]


def test_cache_is_shared_through_redis(api, keys, personas) -> None:
    settings = _redis_cache()
    prefix = settings["default"]["KEY_PREFIX"]
    with override_settings(CACHES=settings):
        api.get(_url(personas.company_a), keys.company_a)
        client = cache._cache.get_client()
        stored = client.keys(f"{prefix}:*ent:c{personas.company_a.pk}:*")
        client.delete(*stored)

    assert len(stored) == 1


def test_an_unrelated_write_keeps_the_etag(api, keys, personas, any_cache) -> None:
    first = api.get(_url(personas.company_a), keys.company_a)["ETag"]

    CompanyFactory(reseller=personas.reseller_a, name="Unrelated")
    Feature.objects.get_or_create(key="unused-feature", defaults={"name": "Unused"})

    assert api.get(_url(personas.company_a), keys.company_a)["ETag"] == first


@pytest.mark.parametrize("who", ["platform", "admin_a", "viewer_a", "company_a"])
def test_a_warm_read_with_a_key_is_one_database_query(api, keys, personas, who) -> None:
    """The key check and the cache key's stamps share one statement (EntitlementsKeyAuth)."""
    first = api.get(_url(personas.company_a), getattr(keys, who))  # fills the cache, stamps the key

    with CaptureQueriesContext(connection) as queries:
        warm = api.get(_url(personas.company_a), getattr(keys, who))

    assert warm.status_code == 200 and warm.content == first.content
    assert len(queries.captured_queries) == 1


def test_a_write_made_elsewhere_reaches_the_one_query_read(api, keys, personas) -> None:
    from partnerhub.companies.services import company_update

    before = api.get(_url(personas.company_a), keys.company_a)
    elsewhere = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    with override_settings(CACHES=elsewhere):
        company_update(
            actor=personas.admin_a,
            company_id=personas.company_a.pk,
            changes={"direct_features": ["vouchers"]},
        )
    after = api.get(_url(personas.company_a), keys.company_a)

    assert after["ETag"] != before["ETag"]
    assert _features(after) == ["plans", "seating", "vouchers"]


def test_hub_sessions_read_entitlements_in_their_scope(api, client, personas) -> None:
    client.force_login(personas.admin_a_user)
    own = api.get(_url(personas.company_a), None)
    client.force_login(personas.admin_b_user)
    foreign = api.get(_url(personas.company_a), None)

    assert _features(own) == ["plans", "seating"]
    assert_error(foreign, 404, "not_found")


@pytest.mark.parametrize("raw_id", ["abc", "0", "99999999999999999999", "\u0663"])
def test_a_company_id_that_is_not_an_id_is_422(api, keys, raw_id) -> None:
    response = api.get(f"/api/v1/companies/{raw_id}/entitlements", keys.platform)

    assert_error(response, 422)


def test_an_unknown_company_is_404_with_a_key(api, keys) -> None:
    assert_error(api.get("/api/v1/companies/999999999/entitlements", keys.platform), 404)


def test_with_redis_each_process_keeps_its_own_copy_of_an_entry(api, keys, personas) -> None:
    """A versioned key always maps to the same body, so a web process may answer from its
    own copy: a warm read then makes no Redis round trip (core/versioned_cache.py)."""
    settings = _redis_cache()
    prefix = settings["default"]["KEY_PREFIX"]
    with override_settings(CACHES=settings):
        first = api.get(_url(personas.company_a), keys.company_a)
        client = cache._cache.get_client()
        client.delete(*client.keys(f"{prefix}:*"))  # the shared tier forgets it
        with CaptureQueriesContext(connection) as queries:
            again = api.get(_url(personas.company_a), keys.company_a)

    assert again.content == first.content
    assert len(queries.captured_queries) == 1  # not rebuilt: served from the process's copy
