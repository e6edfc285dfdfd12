"""The plan list is cached whole: a hit must be exactly the page a fresh build gives, must
follow every write that changes what the page shows — also a write made by another web
process, whose local-memory cache is not ours — and must never cross tenants."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from partnerhub.api.tests.conftest import assert_error
from partnerhub.catalog.services import feature_create
from partnerhub.companies.services import company_create, company_update
from partnerhub.plans.services import (
    plan_archive,
    plan_create,
    plan_delete,
    plan_duplicate,
    plan_restore,
    plan_update,
)
from partnerhub.resellers.services import reseller_update
from partnerhub.testing.data import plan_data
from partnerhub.testing.personas import Personas

pytestmark = pytest.mark.django_db

ELSEWHERE = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}


def _page(api: Any, key: str, params: dict[str, Any] | None = None) -> bytes:
    response = api.get("/api/v1/plans", key, {"archived": "all", **(params or {})})
    assert response.status_code == 200, response.content
    return bytes(response.content)


def _fresh(api: Any, key: str, params: dict[str, Any] | None = None) -> bytes:
    cache.clear()
    return _page(api, key, params)


def test_a_hit_is_the_page_a_fresh_build_gives_and_costs_two_queries(api, keys) -> None:
    built = _page(api, keys.admin_a)
    with CaptureQueriesContext(connection) as ctx:
        hit = _page(api, keys.admin_a)
    queries = len(ctx.captured_queries)  # read before the next request resets the log

    assert hit == built == _fresh(api, keys.admin_a)
    # The key's lookup and the versions: no plan is read, nothing is serialised.
    assert queries == 2
    assert b'"name": "gold"' in hit


def test_each_filter_and_page_is_its_own_entry(api, keys, personas) -> None:
    for name in ("alpha", "beta"):
        plan_create(
            actor=personas.admin_a, reseller_id=personas.reseller_a.pk, data=plan_data(name=name)
        )

    everything = api.get("/api/v1/plans", keys.admin_a).json()
    only_beta = api.get("/api/v1/plans", keys.admin_a, {"name": "bet"}).json()
    second = api.get("/api/v1/plans", keys.admin_a, {"limit": 1, "offset": 1}).json()

    assert [p["name"] for p in everything["items"]] == ["alpha", "beta", "gold"]
    assert [p["name"] for p in only_beta["items"]] == ["beta"]
    assert [p["name"] for p in second["items"]] == ["beta"] and second["count"] == 3


Write = Callable[[Personas], object]


def _company_joins(p: Personas) -> object:
    return company_create(
        actor=p.admin_a, reseller_id=p.reseller_a.pk, name="Newcomer", plan_id=p.plan_a.pk
    )


def _company_leaves(p: Personas) -> object:
    return company_update(actor=p.admin_a, company_id=p.company_a.pk, changes={"plan_id": None})


def _plan_edit(p: Personas) -> object:
    return plan_update(
        actor=p.admin_a, plan_id=p.plan_a.pk, version=1, changes={"name": "platinum"}
    )


WRITES: dict[str, Write] = {
    "plan created": lambda p: plan_create(
        actor=p.admin_a, reseller_id=p.reseller_a.pk, data=plan_data(name="silver")
    ),
    "plan edited": _plan_edit,
    "plan archived": lambda p: plan_archive(actor=p.admin_a, plan_id=p.plan_a.pk),
    "plan duplicated": lambda p: plan_duplicate(actor=p.admin_a, plan_id=p.plan_a.pk),
    "plan deleted": lambda p: plan_delete(actor=p.admin_a, plan_id=p.plan_a.pk),
    "company joins the plan": _company_joins,
    "company leaves the plan": _company_leaves,
    "reseller renamed": lambda p: reseller_update(
        actor=p.platform, reseller_id=p.reseller_a.pk, changes={"name": "Northwind 2"}
    ),
    "catalog feature added": lambda p: feature_create(
        actor=p.platform, key="badges", name="Badges"
    ),
}


@pytest.mark.parametrize("write", list(WRITES))
@pytest.mark.parametrize("who", ["admin_a", "platform"])
def test_the_cached_page_follows_a_write_made_in_another_process(
    api, keys, personas, write, who
) -> None:
    key = getattr(keys, who)
    before = _page(api, key)
    with override_settings(CACHES=ELSEWHERE):
        WRITES[write](personas)
    after = _page(api, key)

    assert after == _fresh(api, key)
    if write not in ("reseller renamed", "catalog feature added"):
        assert after != before  # the page itself shows the change


def test_a_restored_plan_reappears(api, keys, personas) -> None:
    plan_delete(actor=personas.admin_a, plan_id=personas.plan_a.pk)
    assert api.get("/api/v1/plans", keys.admin_a).json()["count"] == 0
    with override_settings(CACHES=ELSEWHERE):
        plan_restore(actor=personas.admin_a, plan_id=personas.plan_a.pk)

    assert api.get("/api/v1/plans", keys.admin_a).json()["count"] == 1


def test_cached_pages_never_cross_tenants(api, keys, personas) -> None:
    plan_create(
        actor=personas.admin_b,
        reseller_id=personas.reseller_b.pk,
        data=plan_data(name="b-only", features=["plans"]),
    )
    mine = api.get("/api/v1/plans", keys.admin_a).json()
    theirs = api.get("/api/v1/plans", keys.admin_b).json()
    everyone = api.get("/api/v1/plans", keys.platform).json()
    viewer = api.get("/api/v1/plans", keys.viewer_a).json()

    assert {p["reseller_id"] for p in mine["items"]} == {personas.reseller_a.pk}
    assert [p["name"] for p in theirs["items"]] == ["b-only"]
    assert {p["name"] for p in everyone["items"]} == {"gold", "b-only"}
    assert viewer == mine
    assert api.get("/api/v1/plans", keys.company_a).json() == {"items": [], "count": 0}


def test_losing_the_plans_feature_is_seen_through_a_warm_cache(api, keys, personas) -> None:
    _page(api, keys.admin_a)
    with override_settings(CACHES=ELSEWHERE):
        reseller_update(
            actor=personas.platform,
            reseller_id=personas.reseller_a.pk,
            changes={"features": ["seating"]},
        )

    assert_error(api.get("/api/v1/plans", keys.admin_a), 403)
