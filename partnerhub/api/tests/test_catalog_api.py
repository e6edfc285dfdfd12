"""The platform's catalog over HTTP: everybody signed in reads it, only the platform writes."""

from __future__ import annotations

import pytest

from partnerhub.api.tests.conftest import assert_error
from partnerhub.audit.models import AuditEvent
from partnerhub.catalog.models import Currency, Feature, FeeType, GatewayFee, Limit, TaxSettings

pytestmark = pytest.mark.django_db


def test_every_signed_in_key_reads_the_catalog(api, keys) -> None:
    for key in (keys.platform, keys.viewer_a, keys.company_a, keys.admin_b):
        features = api.get("/api/v1/features", key).json()
        limits = api.get("/api/v1/limits", key).json()
        assert "plans" in [f["key"] for f in features["items"]]
        assert [lim["key"] for lim in limits["items"]][:4] == [
            "messages",
            "whatsapp_conversations",
            "team_members",
            "event_timeslots",
        ]
    assert api.get("/api/v1/fee-types", keys.admin_a).json()["count"] == 3
    currencies = api.get("/api/v1/currencies", keys.admin_a, {"limit": 200}).json()["items"]
    assert {"code": "JPY", "name": "Yen", "exponent": 0} in currencies
    assert api.get("/api/v1/tax", keys.admin_a).json() == {"gst_rate_bps": 1800}


@pytest.mark.parametrize(
    ("path", "body", "model", "lookup"),
    [
        (
            "/api/v1/features",
            {"key": "seat-maps", "name": "Seat maps"},
            Feature,
            {"key": "seat-maps"},
        ),
        (
            "/api/v1/limits",
            {"key": "storage", "name": "Storage", "unit": "GB", "period": "month"},
            Limit,
            {"key": "storage"},
        ),
        ("/api/v1/fee-types", {"key": "merch", "name": "Merchandise"}, FeeType, {"key": "merch"}),
        ("/api/v1/currencies", {"code": "CHF"}, Currency, {"code": "CHF"}),
    ],
)
def test_platform_creates_catalog_entries_and_others_cannot(
    api, keys, path, body, model, lookup
) -> None:
    assert_error(api.post(path, keys.admin_a, body), 403)
    assert not model.objects.filter(**lookup).exists()

    created = api.post(path, keys.platform, body)
    again = api.post(path, keys.platform, body)

    assert created.status_code == 201, created.content
    assert model.objects.filter(**lookup).exists()
    assert_error(again, 409)
    assert (
        AuditEvent.objects.filter(
            object_type__in=["feature", "limit", "fee_type", "currency"]
        ).count()
        == 1
    )


def test_catalog_bad_input_is_422(api, keys) -> None:
    bad_key = assert_error(
        api.post("/api/v1/features", keys.platform, {"key": "has space", "name": "X"}), 422
    )
    bad_period = assert_error(
        api.post("/api/v1/limits", keys.platform, {"key": "x", "name": "X", "period": "week"}), 422
    )
    not_iso = assert_error(api.post("/api/v1/currencies", keys.platform, {"code": "XYZ"}), 422)

    assert list(bad_key["details"]) == ["key"]
    assert list(bad_period["details"]) == ["period"]
    assert list(not_iso["details"]) == ["code"]


def test_platform_renames_a_feature(api, keys) -> None:
    feature = Feature.objects.get(key="plans")

    body = api.patch(f"/api/v1/features/{feature.pk}", keys.platform, {"name": "Plans v2"}).json()

    assert body["name"] == "Plans v2"
    assert_error(api.patch(f"/api/v1/features/{feature.pk}", keys.admin_a, {"name": "x"}), 403)
    assert_error(api.patch("/api/v1/features/999999", keys.platform, {"name": "x"}), 404)


def test_gateway_fees_are_replaced_as_a_whole_by_the_platform(api, keys) -> None:
    GatewayFee.objects.create(currency_id="INR", percent_bps=200, fixed_minor=0)
    entries = [{"currency": "GBP", "percent_bps": 140, "fixed_minor": 20}]

    denied = api.put("/api/v1/gateway-fees", keys.admin_a, entries)
    response = api.put("/api/v1/gateway-fees", keys.platform, entries)

    assert_error(denied, 403)
    assert response.json() == entries
    assert api.get("/api/v1/gateway-fees", keys.viewer_a).json() == entries
    assert not GatewayFee.objects.filter(currency_id="INR").exists()


def test_gateway_fees_reject_bad_entries(api, keys) -> None:
    twice = [{"currency": "GBP", "percent_bps": 1}, {"currency": "GBP", "percent_bps": 2}]

    assert_error(api.put("/api/v1/gateway-fees", keys.platform, twice), 422)
    assert_error(
        api.put("/api/v1/gateway-fees", keys.platform, [{"currency": "GBP", "percent_bps": 10001}]),
        422,
    )
    assert_error(api.put("/api/v1/gateway-fees", keys.platform, {"currency": "GBP"}), 422)
    assert not GatewayFee.objects.exists()


def test_tax_is_set_by_the_platform(api, keys) -> None:
    assert_error(api.put("/api/v1/tax", keys.admin_a, {"gst_rate_bps": 0}), 403)
    assert api.put("/api/v1/tax", keys.platform, {"gst_rate_bps": 1200}).json() == {
        "gst_rate_bps": 1200
    }
    assert_error(api.put("/api/v1/tax", keys.platform, {"gst_rate_bps": -5}), 422)
    assert TaxSettings.current().gst_rate_bps == 1200
