"""Resellers over HTTP: the platform runs them; a reseller reads its own and edits only what
it may (default registration plan, fees) — never its enabled features."""

from __future__ import annotations

import pytest

from partnerhub.api.tests.conftest import assert_error
from partnerhub.audit.models import AuditEvent
from partnerhub.resellers.models import Reseller
from partnerhub.testing.factories import PlanFactory

pytestmark = pytest.mark.django_db

GBP_FEE = {
    "currency": "GBP",
    "fee_type": "ticket",
    "percent_bps": 100,
    "fixed_minor": 10,
    "min_minor": None,
    "max_minor": None,
}


def _url(reseller: Reseller) -> str:
    return f"/api/v1/resellers/{reseller.pk}"


def test_platform_lists_every_reseller_and_a_reseller_only_itself(api, keys, personas) -> None:
    everyone = api.get("/api/v1/resellers", keys.platform).json()
    own = api.get("/api/v1/resellers", keys.viewer_a).json()

    assert everyone["count"] == 2
    assert [r["slug"] for r in own["items"]] == ["northwind"]
    assert own["items"][0]["features"] == ["api_access", "plans", "seating", "vouchers"]


def test_another_reseller_is_404(api, keys, personas) -> None:
    assert_error(api.get(_url(personas.reseller_a), keys.admin_b), 404)
    assert_error(api.get(_url(personas.reseller_a), keys.company_a), 404)
    assert_error(api.patch(_url(personas.reseller_a), keys.admin_b, {"fees": []}), 404)


def test_platform_creates_a_reseller(api, keys) -> None:
    body = {"name": "Eastwind", "slug": "eastwind", "features": ["plans"], "fees": [GBP_FEE]}

    denied = api.post("/api/v1/resellers", keys.admin_a, body)
    created = api.post("/api/v1/resellers", keys.platform, body)
    clash = api.post("/api/v1/resellers", keys.platform, body)

    assert_error(denied, 403)
    assert created.status_code == 201, created.content
    assert created.json()["fees"] == [GBP_FEE]
    assert created.json()["blended"] == {"GBP": False}
    assert_error(clash, 409)
    assert Reseller.objects.filter(slug="eastwind").count() == 1


def test_reseller_cannot_change_its_own_features(api, keys, personas) -> None:
    error = assert_error(
        api.patch(_url(personas.reseller_a), keys.admin_a, {"features": ["plans"]}), 403
    )

    assert "platform" in error["message"]
    assert personas.reseller_a.feature_keys() == {"plans", "seating", "vouchers", "api_access"}


def test_reseller_sets_its_default_registration_plan_and_fees(api, keys, personas) -> None:
    body = api.patch(
        _url(personas.reseller_a),
        keys.admin_a,
        {"default_registration_plan_id": personas.plan_a.pk, "fees": [GBP_FEE]},
    )

    assert body.status_code == 200, body.content
    assert body.json()["default_registration_plan_id"] == personas.plan_a.pk
    assert body.json()["fees"] == [GBP_FEE]
    assert body.json()["job_id"] is None
    assert AuditEvent.objects.filter(action="reseller.update").exists()


def test_another_resellers_plan_cannot_be_the_default(api, keys, personas) -> None:
    theirs = PlanFactory(reseller=personas.reseller_b, name="theirs")

    error = assert_error(
        api.patch(
            _url(personas.reseller_a), keys.admin_a, {"default_registration_plan_id": theirs.pk}
        ),
        422,
    )

    assert list(error["details"]) == ["default_registration_plan_id"]


def test_viewer_cannot_edit_its_reseller(api, keys, personas) -> None:
    assert_error(api.patch(_url(personas.reseller_a), keys.viewer_a, {"fees": []}), 403)
    assert not AuditEvent.objects.filter(action="reseller.update").exists()


def test_platform_edits_features_and_bad_input_is_422(api, keys, personas) -> None:
    ok = api.patch(_url(personas.reseller_b), keys.platform, {"features": ["plans"]})
    unknown = api.patch(_url(personas.reseller_b), keys.platform, {"features": ["teleport"]})
    bad_slug = api.patch(_url(personas.reseller_b), keys.platform, {"slug": "Has Space"})

    assert ok.json()["features"] == ["plans"]
    assert list(assert_error(unknown, 422)["details"]) == ["features"]
    assert list(assert_error(bad_slug, 422)["details"]) == ["slug"]
