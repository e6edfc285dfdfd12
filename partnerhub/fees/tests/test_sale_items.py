"""Sale items: fees from the effective schedule at create and edit, tenancy, bad input."""

from __future__ import annotations

import pytest

from partnerhub.audit.models import AuditEvent
from partnerhub.core.errors import NotFound, PermissionDenied, ValidationFailed
from partnerhub.fees.models import SaleItem
from partnerhub.fees.selectors import (
    sale_item_get_for_actor,
    sale_item_list_for_actor,
    sale_item_serialize,
)
from partnerhub.fees.services import fee_quote, sale_item_create, sale_item_update
from partnerhub.fees.tests.factories import add_fee, set_gateway_fee
from partnerhub.testing.factories import CompanyFactory

ITEM = {
    "external_ref": "tt-9",
    "name": "Adult GA",
    "currency": "GBP",
    "fee_type": "ticket",
    "price_minor": 2000,
}


@pytest.fixture
def priced(personas):
    """Plan "gold" charges 2.5 % + 30 on GBP tickets; the gateway 2 % + 8."""
    add_fee(personas.plan_a.fee_schedule_id, "GBP", "ticket", 250, 30)
    set_gateway_fee("GBP", 200, 8)
    return personas


def test_created_item_gets_fees_from_its_plan_and_an_audit_row(priced) -> None:
    item = sale_item_create(actor=priced.admin_a, company_id=priced.company_a.pk, data=ITEM)

    item.refresh_from_db()
    assert (item.reseller_fee_minor, item.gateway_fee_minor, item.blended) == (80, 48, False)
    assert item.fee_revision == 1 and item.fees_updated_at is not None
    event = AuditEvent.objects.get(action="sale_item.create", object_id=item.pk)
    assert event.reseller_id == priced.reseller_a.pk
    assert event.changes["reseller_fee_minor"] == {"old": None, "new": 80}
    shape = sale_item_serialize(item)
    assert shape | {"id": 0, "fees_updated_at": None} == {
        "id": 0,
        "company_id": priced.company_a.pk,
        "external_ref": "tt-9",
        "name": "Adult GA",
        "currency": "GBP",
        "fee_type": "ticket",
        "price_minor": 2000,
        "reseller_fee_minor": 80,
        "gateway_fee_minor": 48,
        "blended": False,
        "fee_revision": 1,
        "fees_updated_at": None,
    }


def test_company_off_plan_fees_is_priced_from_its_own_schedule(priced) -> None:
    company = priced.company_a
    company.use_plan_fees = False
    company.has_own_fees = True
    company.save()
    add_fee(company.fee_schedule_id, "GBP", "ticket", 1000, 0, blended=True)

    item = sale_item_create(actor=priced.admin_a, company_id=company.pk, data=ITEM)

    assert (item.reseller_fee_minor, item.gateway_fee_minor, item.blended) == (200, 48, True)


def test_custom_company_without_own_fees_is_priced_from_the_reseller_schedule(priced) -> None:
    company = CompanyFactory(reseller=priced.reseller_a, plan=None)
    add_fee(priced.reseller_a.fee_schedule_id, "GBP", "ticket", 0, 99, min_minor=120)

    item = sale_item_create(actor=priced.admin_a, company_id=company.pk, data=ITEM)

    assert item.reseller_fee_minor == 120  # 99 clamped up to the floor


def test_a_currency_the_schedule_does_not_price_is_refused_naming_it(priced) -> None:
    with pytest.raises(ValidationFailed) as err:
        sale_item_create(
            actor=priced.admin_a, company_id=priced.company_a.pk, data=ITEM | {"currency": "INR"}
        )
    assert "INR" in err.value.message and "ticket" in err.value.message
    assert "currency" in err.value.details
    assert not SaleItem.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"currency": "XXX"}, "currency"),
        ({"fee_type": "raffle"}, "fee_type"),
        ({"price_minor": -1}, "price_minor"),
        ({"price_minor": "20"}, "price_minor"),
        ({"price_minor": 10**12 + 1}, "price_minor"),
        ({"name": ""}, "name"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_refused_and_stores_nothing(priced, change, field) -> None:
    with pytest.raises(ValidationFailed) as err:
        sale_item_create(actor=priced.admin_a, company_id=priced.company_a.pk, data=ITEM | change)
    assert field in err.value.details
    assert not SaleItem.objects.exists()
    assert not AuditEvent.objects.filter(action="sale_item.create").exists()


def test_editing_the_price_recomputes_fees_from_the_current_schedule(priced) -> None:
    item = sale_item_create(actor=priced.admin_a, company_id=priced.company_a.pk, data=ITEM)
    add_fee(priced.plan_a.fee_schedule_id, "GBP", "ticket", 500, 0)

    sale_item_update(actor=priced.admin_a, item_id=item.pk, changes={"price_minor": 3000})

    item.refresh_from_db()
    assert (item.reseller_fee_minor, item.gateway_fee_minor) == (150, 68)
    assert item.fee_revision == 2
    event = AuditEvent.objects.get(action="sale_item.update", object_id=item.pk)
    assert event.changes["price_minor"] == {"old": 2000, "new": 3000}
    assert event.changes["reseller_fee_minor"] == {"old": 80, "new": 150}


def test_renaming_an_item_recomputes_its_fees_from_the_current_schedule(priced) -> None:
    """Any edit, a rename included (SPEC §6: "Apply only to new/edited items")."""
    item = sale_item_create(actor=priced.admin_a, company_id=priced.company_a.pk, data=ITEM)
    add_fee(priced.plan_a.fee_schedule_id, "GBP", "ticket", 500, 0)

    sale_item_update(actor=priced.admin_a, item_id=item.pk, changes={"name": "Child GA"})

    item.refresh_from_db()
    assert (item.name, item.reseller_fee_minor, item.fee_revision) == ("Child GA", 100, 2)


def test_editing_to_an_unpriced_currency_is_refused_and_changes_nothing(priced) -> None:
    item = sale_item_create(actor=priced.admin_a, company_id=priced.company_a.pk, data=ITEM)

    with pytest.raises(ValidationFailed, match="EUR"):
        sale_item_update(actor=priced.admin_a, item_id=item.pk, changes={"currency": "EUR"})

    item.refresh_from_db()
    assert (item.currency_id, item.fee_revision) == ("GBP", 1)
    assert not AuditEvent.objects.filter(action="sale_item.update").exists()


def test_viewer_and_company_cannot_write_and_outsider_gets_not_found(priced) -> None:
    company_id = priced.company_a.pk
    with pytest.raises(PermissionDenied):
        sale_item_create(actor=priced.viewer_a, company_id=company_id, data=ITEM)
    with pytest.raises(PermissionDenied):
        sale_item_create(actor=priced.company_a_actor, company_id=company_id, data=ITEM)
    with pytest.raises(NotFound):
        sale_item_create(actor=priced.admin_b, company_id=company_id, data=ITEM)
    item = sale_item_create(actor=priced.platform, company_id=company_id, data=ITEM)
    with pytest.raises(PermissionDenied):
        sale_item_update(actor=priced.viewer_a, item_id=item.pk, changes={"name": "x"})
    with pytest.raises(NotFound, match="Sale item not found"):  # as for a missing item
        sale_item_update(actor=priced.admin_b, item_id=item.pk, changes={"name": "x"})
    with pytest.raises(NotFound, match="Sale item not found"):
        sale_item_update(actor=priced.admin_b, item_id=item.pk + 999, changes={"name": "x"})
    item.refresh_from_db()
    assert item.name == "Adult GA" and SaleItem.objects.count() == 1


def test_items_are_listed_for_readers_of_the_company_only(priced) -> None:
    company_id = priced.company_a.pk
    item = sale_item_create(actor=priced.admin_a, company_id=company_id, data=ITEM)
    other = CompanyFactory(reseller=priced.reseller_a, plan=priced.plan_a)
    sale_item_create(actor=priced.admin_a, company_id=other.pk, data=ITEM)

    for reader in (priced.viewer_a, priced.company_a_actor, priced.platform):
        assert list(sale_item_list_for_actor(reader, company_id)) == [item]
        assert sale_item_get_for_actor(reader, item.pk) == item
    with pytest.raises(NotFound):
        sale_item_list_for_actor(priced.admin_b, company_id)
    with pytest.raises(NotFound):
        sale_item_get_for_actor(priced.admin_b, item.pk)
    with pytest.raises(NotFound):
        sale_item_list_for_actor(priced.company_a_actor, other.pk)


def test_fee_quote_computes_without_storing(priced) -> None:
    add_fee(priced.plan_a.fee_schedule_id, "GBP", "product", 250, 30, blended=True)
    before = AuditEvent.objects.count()

    quote = fee_quote(
        actor=priced.viewer_a,
        company_id=priced.company_a.pk,
        currency="GBP",
        fee_type="product",
        price_minor=2000,
    ).as_dict()

    assert quote["reseller_fee_minor"] == 80 and quote["gateway_fee_minor"] == 48
    assert quote["blended"] is True
    assert quote["charges"] == [{"label": "fees", "amount_minor": 128}]
    assert not SaleItem.objects.exists() and AuditEvent.objects.count() == before
    with pytest.raises(NotFound):
        fee_quote(
            actor=priced.admin_b,
            company_id=priced.company_a.pk,
            currency="GBP",
            fee_type="ticket",
            price_minor=1,
        )
    with pytest.raises(ValidationFailed):
        fee_quote(
            actor=priced.admin_a,
            company_id=priced.company_a.pk,
            currency="GBP",
            fee_type="ticket",
            price_minor=-5,
        )


def test_missing_gateway_fee_means_no_gateway_charge(priced) -> None:
    add_fee(priced.plan_a.fee_schedule_id, "JPY", "ticket", 250, 30)

    item = sale_item_create(
        actor=priced.admin_a,
        company_id=priced.company_a.pk,
        data=ITEM | {"currency": "JPY", "price_minor": 2000},
    )

    assert (item.reseller_fee_minor, item.gateway_fee_minor) == (80, 0)
