"""The seed flows, end to end, through the REST API alone.

A host platform runs everything with bearer keys: the platform sets up a reseller;
the reseller builds a plan, assigns companies, removes a feature after a preview,
changes fees for new items and then for all items (a job the worker runs), flips
blended (forced recalculation), archives, duplicates, deletes and restores the plan;
then anonymous visitors register with and without a usable default plan.

The data is committed (transactional test) so that the job worker, run here as
`partnerhub worker --batch` would run it, sees what the API wrote.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command

from partnerhub.api.tests.conftest import ApiClient, assert_error
from partnerhub.testing.data import plan_data

pytestmark = pytest.mark.django_db(transaction=True)

GOLD = plan_data(name="gold-2026", display_name="Gold")
COMPANIES = ["Acme Events", "Beta Tours", "Gamma Arts"]


def _fee(percent_bps: int) -> list[dict[str, Any]]:
    return [
        {"currency": "GBP", "fee_type": "ticket", "percent_bps": percent_bps, "fixed_minor": 30}
    ]


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    return response.json()


def _run_worker_until_idle() -> None:
    """The worker loop of `partnerhub worker` (django-tasks-db's), until the queue is empty.

    Without `partnerhub worker`'s stale-job recovery thread: a second connection to
    SQLite's in-memory test database would lock against this one; recovery has its own
    tests (fees/tests)."""
    call_command(
        "db_worker",
        batch=True,
        no_startup_delay=True,
        interval=0,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )


def _platform_key() -> str:
    out = io.StringIO()
    call_command("apikey", "create", "--platform", "--name", "host", stdout=out)
    return out.getvalue().strip().splitlines()[-1]


@pytest.fixture
def http(client: Any, settings: Any) -> ApiClient:
    settings.ROOT_URLCONF = "partnerhub.api.tests.urls"
    cache.clear()
    return ApiClient(client)


def test_the_seed_flows_run_over_http_alone(http: ApiClient) -> None:
    platform = _platform_key()

    # The platform: gateway fee, a reseller with the Plans feature, a key for it.
    _ok(
        http.put(
            "/api/v1/gateway-fees",
            platform,
            [{"currency": "GBP", "percent_bps": 140, "fixed_minor": 20}],
        )
    )
    for key, name in (("seating", "Seating"), ("vouchers", "Vouchers")):
        _ok(http.post("/api/v1/features", platform, {"key": key, "name": name}), 201)
    reseller = _ok(
        http.post(
            "/api/v1/resellers",
            platform,
            {
                "name": "Harbour Tickets",
                "slug": "harbour",
                "features": ["plans", "seating", "vouchers"],
            },
        ),
        201,
    )
    admin = _ok(
        http.post(
            "/api/v1/api-keys", platform, {"scope": "reseller_admin", "reseller_id": reseller["id"]}
        ),
        201,
    )["key"]

    # Create the plan, assign companies, sell.
    plan = _ok(http.post("/api/v1/plans", admin, GOLD), 201)
    companies = [
        _ok(http.post("/api/v1/companies", admin, {"name": n, "plan_id": plan["id"]}), 201)
        for n in COMPANIES
    ]
    assert all(c["use_plan_fees"] for c in companies)
    for company in companies:
        item = _ok(
            http.post(
                f"/api/v1/companies/{company['id']}/sale-items",
                admin,
                {"name": "Adult GA", "currency": "GBP", "fee_type": "ticket", "price_minor": 2000},
            ),
            201,
        )
        assert (item["reseller_fee_minor"], item["gateway_fee_minor"]) == (80, 48)
    acme = companies[0]["id"]
    entitlements = _ok(http.get(f"/api/v1/companies/{acme}/entitlements", admin))
    assert [f["key"] for f in entitlements["features"]] == ["plans", "seating", "vouchers"]
    listed = _ok(http.get("/api/v1/plans", admin))["items"]
    assert [(p["name"], p["company_count"], p["feature_count"]) for p in listed] == [
        ("gold-2026", 3, 3)
    ]

    # Preview removing a feature, then remove it: every company loses it at once.
    preview = _ok(
        http.post(f"/api/v1/plans/{plan['id']}/preview", admin, {"features": ["plans", "seating"]})
    )
    assert preview["removed_features"] == ["vouchers"]
    assert [c["name"] for c in preview["affected_companies"]] == COMPANIES
    assert preview["recalculation"] == "none"
    plan = _ok(
        http.patch(
            f"/api/v1/plans/{plan['id']}",
            admin,
            {"version": plan["version"], "features": ["plans", "seating"]},
        )
    )
    entitlements = _ok(http.get(f"/api/v1/companies/{acme}/entitlements", admin))
    assert [f["key"] for f in entitlements["features"]] == ["plans", "seating"]

    # A fee change for new/edited items only: stored items keep their fees.
    assert (
        _ok(http.post(f"/api/v1/plans/{plan['id']}/preview", admin, {"fees": _fee(300)}))[
            "recalculation"
        ]
        == "ask"
    )
    plan = _ok(
        http.patch(
            f"/api/v1/plans/{plan['id']}",
            admin,
            {"version": plan["version"], "fees": _fee(300), "fee_apply_mode": "new"},
        )
    )
    assert plan["job_id"] is None
    items = _ok(http.get(f"/api/v1/companies/{acme}/sale-items", admin))["items"]
    assert [i["reseller_fee_minor"] for i in items] == [80]
    new_item = _ok(
        http.post(
            f"/api/v1/companies/{acme}/sale-items",
            admin,
            {"name": "Child", "currency": "GBP", "fee_type": "ticket", "price_minor": 2000},
        ),
        201,
    )
    assert new_item["reseller_fee_minor"] == 90

    # A fee change for all items: a job, run by the worker, visible over the API.
    plan = _ok(
        http.patch(
            f"/api/v1/plans/{plan['id']}",
            admin,
            {"version": plan["version"], "fees": _fee(400), "fee_apply_mode": "all"},
        )
    )
    job_id = plan["job_id"]
    assert _ok(http.get(f"/api/v1/jobs/{job_id}", admin))["status"] == "queued"
    _run_worker_until_idle()
    job = _ok(http.get(f"/api/v1/jobs/{job_id}", admin))
    assert (job["status"], job["companies_done"], job["companies_total"]) == ("succeeded", 3, 3)
    assert (job["items_done"], job["items_total"]) == (4, 4)
    for company in companies:
        fees = {
            i["reseller_fee_minor"]
            for i in _ok(http.get(f"/api/v1/companies/{company['id']}/sale-items", admin))["items"]
        }
        assert fees == {110}

    # Blended changes: the recalculation is forced, no mode asked.
    preview = _ok(
        http.post(f"/api/v1/plans/{plan['id']}/preview", admin, {"blended": {"GBP": True}})
    )
    assert (preview["blended_changed"], preview["recalculation"]) == (True, "forced")
    plan = _ok(
        http.patch(
            f"/api/v1/plans/{plan['id']}",
            admin,
            {"version": plan["version"], "blended": {"GBP": True}},
        )
    )
    assert plan["job_id"] is not None
    _run_worker_until_idle()
    assert _ok(http.get(f"/api/v1/jobs/{plan['job_id']}", admin))["status"] == "succeeded"
    items = _ok(http.get(f"/api/v1/companies/{acme}/sale-items", admin))["items"]
    assert {(i["blended"], i["reseller_fee_minor"], i["gateway_fee_minor"]) for i in items} == {
        (True, 110, 48)
    }

    # Archive: hidden from the list and from assignment; its companies stay on it.
    _ok(http.post(f"/api/v1/plans/{plan['id']}/archive", admin))
    assert _ok(http.get("/api/v1/plans", admin))["count"] == 0
    assert _ok(http.get(f"/api/v1/companies/{acme}", admin))["plan_id"] == plan["id"]
    refused = http.post("/api/v1/companies", admin, {"name": "Late", "plan_id": plan["id"]})
    assert "plan_id" in assert_error(refused, 422)["details"]

    # Duplicate: a disabled copy with everything but the assignments.
    copy = _ok(http.post(f"/api/v1/plans/{plan['id']}/duplicate", admin), 201)
    assert (copy["name"], copy["enabled"], copy["company_count"]) == ("Copy of gold-2026", False, 0)
    assert (copy["fees"], copy["blended"]) == (plan["fees"], {"GBP": True})

    # Delete: every company becomes Custom and keeps its features and fees.
    before = _ok(http.get(f"/api/v1/companies/{acme}/entitlements", admin))
    _ok(http.delete(f"/api/v1/plans/{plan['id']}", admin))
    after = _ok(http.get(f"/api/v1/companies/{acme}/entitlements", admin))
    assert after["plan"] is None
    assert [f["key"] for f in after["features"]] == [f["key"] for f in before["features"]]
    assert after["fees"]["schedule"] == before["fees"]["schedule"]
    assert after["fees"]["blended"] == before["fees"]["blended"]
    assert {k: v["value"] for k, v in after["limits"].items()} == {
        k: v["value"] for k, v in before["limits"].items()
    }

    # Restore: available again, nobody re-assigned.
    deleted = _ok(http.get("/api/v1/plans", admin, {"deleted": "true", "archived": "all"}))
    assert [p["id"] for p in deleted["items"]] == [plan["id"]]
    restored = _ok(http.post(f"/api/v1/plans/{plan['id']}/restore", admin))
    assert (restored["deleted"], restored["company_count"]) == (False, 0)
    assert _ok(http.get(f"/api/v1/companies/{acme}", admin))["plan_id"] is None

    # Registration: the default plan is archived (restore made it assignable again, so
    # archive it once more), so a visitor starts Custom…
    _ok(http.post(f"/api/v1/plans/{plan['id']}/archive", admin))
    _ok(
        http.patch(
            f"/api/v1/resellers/{reseller['id']}",
            admin,
            {"default_registration_plan_id": plan["id"]},
        )
    )
    visitor = {"company_name": "Delta Fest", "contact_email": "hello@delta.test"}
    custom = _ok(http.post("/api/v1/register/harbour", None, visitor), 201)
    assert custom["plan"] is None
    # …and once it is usable again, the next visitor gets it, with plan fees on.
    _ok(http.post(f"/api/v1/plans/{plan['id']}/unarchive", admin))
    on_plan = _ok(
        http.post("/api/v1/register/harbour", None, {**visitor, "company_name": "Echo Live"}), 201
    )
    assert on_plan["plan"]["id"] == plan["id"]
    assert on_plan["use_plan_fees"] is True
    assert [
        f["key"]
        for f in _ok(http.get(f"/api/v1/companies/{on_plan['id']}/entitlements", admin))["features"]
    ] == ["plans", "seating"]

    # Everything above is in the reseller's audit log.
    actions = {
        e["action"] for e in _ok(http.get("/api/v1/audit-events", admin, {"limit": 200}))["items"]
    }
    assert {
        "plan.create",
        "plan.update",
        "plan.archive",
        "plan.duplicate",
        "plan.delete",
        "plan.restore",
        "company.create",
        "sale_item.create",
        "job.enqueue",
    } <= actions
