import json

import pytest

from partnerhub.audit.models import AuditEvent
from partnerhub.catalog.models import Currency, Feature, FeeType, GatewayFee, Limit
from partnerhub.catalog.selectors import (
    currency_list,
    currency_serialize,
    feature_list,
    fee_type_list,
    gateway_fee_list,
    gateway_fee_serialize,
    limit_list,
    tax_get,
)
from partnerhub.catalog.services import (
    currency_create,
    feature_create,
    feature_update,
    fee_type_create,
    gateway_fees_set,
    limit_create,
    tax_set,
)
from partnerhub.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed


def test_platform_creates_a_feature_with_an_audit_row(personas):
    feature = feature_create(
        actor=personas.platform, key="custom_domain", name="Custom domain", description="CNAME"
    )

    assert feature_list().filter(key="custom_domain").get() == feature
    event = AuditEvent.objects.get(action="feature.create", object_id=feature.pk)
    assert event.reseller_id is None
    assert event.changes["name"] == {"old": None, "new": "Custom domain"}


def test_duplicate_feature_key_is_a_conflict(personas):
    with pytest.raises(Conflict):
        feature_create(actor=personas.platform, key="plans", name="Plans again")
    assert Feature.objects.filter(key="plans").count() == 1
    assert not AuditEvent.objects.filter(action="feature.create").exists()


@pytest.mark.parametrize("key", ["", "Has Space", "UPPER", "-lead", "x" * 65, "a__b"])
def test_feature_key_must_be_a_slug(personas, key):
    with pytest.raises(ValidationFailed) as exc:
        feature_create(actor=personas.platform, key=key, name="X")
    assert "key" in exc.value.details
    assert not Feature.objects.filter(name="X").exists()


@pytest.mark.parametrize("who", ["admin_a", "viewer_a", "company_a_actor"])
def test_only_the_platform_writes_the_catalog(personas, who):
    actor = getattr(personas, who)
    with pytest.raises(PermissionDenied):
        feature_create(actor=actor, key="x", name="X")
    with pytest.raises(PermissionDenied):
        limit_create(actor=actor, key="x", name="X")
    with pytest.raises(PermissionDenied):
        fee_type_create(actor=actor, key="x", name="X")
    with pytest.raises(PermissionDenied):
        currency_create(actor=actor, code="CHF")
    with pytest.raises(PermissionDenied):
        gateway_fees_set(actor=actor, entries=[])
    with pytest.raises(PermissionDenied):
        tax_set(actor=actor, gst_rate_bps=0)
    assert not AuditEvent.objects.exists()


def test_feature_update_changes_name_and_description_and_audits_the_old_values(personas):
    feature = Feature.objects.get(key="seating")

    feature_update(actor=personas.platform, feature_id=feature.pk, name="Seat maps")

    feature.refresh_from_db()
    assert feature.name == "Seat maps"
    event = AuditEvent.objects.get(action="feature.update")
    assert event.changes == {"name": {"old": "Seating", "new": "Seat maps"}}
    with pytest.raises(NotFound):
        feature_update(actor=personas.platform, feature_id=999_999, name="x")


def test_limit_create_validates_period_and_conflicts_on_key(personas):
    limit = limit_create(
        actor=personas.platform, key="sms", name="SMS", unit="messages", period="month"
    )
    assert limit in limit_list()
    assert AuditEvent.objects.filter(action="limit.create", object_id=limit.pk).exists()
    with pytest.raises(ValidationFailed) as exc:
        limit_create(actor=personas.platform, key="x", name="X", period="week")
    assert "period" in exc.value.details
    with pytest.raises(Conflict):
        limit_create(actor=personas.platform, key="messages", name="Messages")
    assert Limit.objects.filter(key="messages").count() == 1


def test_fee_type_create(personas):
    fee_type = fee_type_create(actor=personas.platform, key="merchandise", name="Merchandise")

    assert fee_type in fee_type_list()
    assert AuditEvent.objects.filter(action="fee_type.create").count() == 1
    with pytest.raises(Conflict):
        fee_type_create(actor=personas.platform, key="ticket", name="Ticket")
    assert FeeType.objects.filter(key="ticket").count() == 1


def test_currency_comes_from_the_pinned_iso_table(personas):
    chf = currency_create(actor=personas.platform, code="chf")

    assert chf.code == "CHF"
    assert chf.name == "Swiss Franc"
    assert currency_serialize(chf)["exponent"] == 2
    assert chf in currency_list()
    with pytest.raises(ValidationFailed):
        currency_create(actor=personas.platform, code="XYZ")
    with pytest.raises(Conflict):
        currency_create(actor=personas.platform, code="GBP")
    assert not Currency.objects.filter(code="XYZ").exists()
    assert AuditEvent.objects.filter(action="currency.create").count() == 1


def test_gateway_fees_are_replaced_as_a_set_and_audited(personas):
    gateway_fees_set(
        actor=personas.platform,
        entries=[
            {"currency": "GBP", "percent_bps": 140, "fixed_minor": 20},
            {"currency": "inr", "percent_bps": 200, "fixed_minor": 0},
        ],
    )
    gateway_fees_set(
        actor=personas.platform,
        entries=[{"currency": "GBP", "percent_bps": 150, "fixed_minor": 20}],
    )

    assert [gateway_fee_serialize(g) for g in gateway_fee_list()] == [
        {"currency": "GBP", "percent_bps": 150, "fixed_minor": 20}
    ]
    events = AuditEvent.objects.filter(action="gateway_fees.set").order_by("id")
    assert events.count() == 2
    assert events[1].changes["entries"]["old"][1]["currency"] == "INR"


@pytest.mark.parametrize(
    "entry",
    [
        {"currency": "GBP", "percent_bps": 10001, "fixed_minor": 0},
        {"currency": "GBP", "percent_bps": -1, "fixed_minor": 0},
        {"currency": "GBP", "percent_bps": 1.5, "fixed_minor": 0},
        {"currency": "GBP", "percent_bps": 100, "fixed_minor": -1},
        {"currency": "XXX", "percent_bps": 100, "fixed_minor": 0},
        {"currency": "GBP", "percent_bps": 100, "fixed_minor": 0, "extra": 1},
    ],
)
def test_gateway_fee_entries_are_validated(personas, entry):
    with pytest.raises(ValidationFailed):
        gateway_fees_set(actor=personas.platform, entries=[entry])
    assert not GatewayFee.objects.exists()


def test_gateway_fee_currency_listed_twice_is_rejected(personas):
    entry = {"currency": "GBP", "percent_bps": 100, "fixed_minor": 0}
    with pytest.raises(ValidationFailed):
        gateway_fees_set(actor=personas.platform, entries=[entry, entry])


def test_tax_rate_is_set_within_bounds(personas):
    tax_set(actor=personas.platform, gst_rate_bps=1200)

    assert tax_get().gst_rate_bps == 1200
    assert AuditEvent.objects.get(action="tax.set").changes == {
        "gst_rate_bps": {"old": 1800, "new": 1200}
    }
    for bad in (-1, 10001, "18", True):
        with pytest.raises(ValidationFailed):
            tax_set(actor=personas.platform, gst_rate_bps=bad)
    assert tax_get().gst_rate_bps == 1200


def test_new_limit_makes_every_cached_entitlement_stale(personas):
    from partnerhub.companies.cache import company_entitlements_cached

    company = personas.company_a
    before, etag = company_entitlements_cached(personas.admin_a, company.pk)
    assert "sms" not in json.loads(before)["limits"]
    limit_create(actor=personas.platform, key="sms", name="SMS")
    after, etag_after = company_entitlements_cached(personas.admin_a, company.pk)
    assert "sms" in json.loads(after)["limits"] and etag_after != etag
