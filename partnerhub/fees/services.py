"""Sale item writes and the fee quote (SPEC §6). Jobs: fees/jobs.py and fees/recalc.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from partnerhub.audit.services import audit_record
from partnerhub.catalog.models import Currency, FeeType, GatewayFee
from partnerhub.companies.models import Company
from partnerhub.companies.selectors import company_get_for_actor
from partnerhub.core.actor import Actor
from partnerhub.core.errors import NotFound, ValidationFailed
from partnerhub.core.validation import clean_int, clean_str, reject_unknown
from partnerhub.fees.arithmetic import MAX_PRICE_MINOR, Fees, gateway_fee, reseller_fee
from partnerhub.fees.models import FeeScheduleEntry, SaleItem

SALE_ITEM_FIELDS = ("external_ref", "name", "currency", "fee_type", "price_minor")
# Changing any of these changes what the fees were computed from.
FEE_INPUT_FIELDS = ("currency", "fee_type", "price_minor")


@dataclass(frozen=True, slots=True)
class FeeQuote:
    company_id: int
    currency: str
    fee_type: str
    price_minor: int  # minor units
    fees: Fees

    def as_dict(self) -> dict[str, Any]:
        return {
            "company_id": self.company_id,
            "currency": self.currency,
            "fee_type": self.fee_type,
            "price_minor": self.price_minor,
            "reseller_fee_minor": self.fees.reseller_fee_minor,
            "gateway_fee_minor": self.fees.gateway_fee_minor,
            "blended": self.fees.blended,
            "total_fee_minor": self.fees.total_minor,
            "charges": self.fees.charges(),
        }


def _clean_currency(value: Any) -> str:
    code = clean_str(value, "currency", max_length=3).upper()
    if not Currency.objects.filter(code=code).exists():
        raise ValidationFailed.field("currency", f"unknown currency {code!r}")
    return code


def _clean_fee_type(value: Any) -> str:
    key = clean_str(value, "fee_type", max_length=64)
    if not FeeType.objects.filter(key=key).exists():
        raise ValidationFailed.field("fee_type", f"unknown fee type {key!r}")
    return key


def _clean_price(value: Any) -> int:
    return clean_int(value, "price_minor", minimum=0, maximum=MAX_PRICE_MINOR)


def _company_fees(company: Company, currency: str, fee_type: str, price_minor: int) -> Fees:
    """Fees from the company's effective schedule (plan, own or reseller's) and the gateway.

    An item must be priceable when it is written: a currency/fee type the
    effective schedule has no entry for is refused here, naming both. (A
    recalculation meeting the same gap later sets a zero reseller fee instead;
    see fees/recalc.py.)
    """
    entry = FeeScheduleEntry.objects.filter(
        schedule_id=company.effective_fee_schedule_id(),
        currency_id=currency,
        fee_type_id=fee_type,  # type: ignore[misc]  # a to_field FK: the key is a string
    ).first()
    if entry is None:
        raise ValidationFailed.field(
            "currency",
            f"The company's fee schedule has no {fee_type} fee for {currency}; "
            f"add one to its fees before selling in {currency}.",
        )
    gateway = GatewayFee.objects.filter(currency_id=currency).first()
    return Fees(
        reseller_fee_minor=reseller_fee(
            price_minor, entry.percent_bps, entry.fixed_minor, entry.min_minor, entry.max_minor
        ),
        # No gateway fee set for the currency means the platform charges none.
        gateway_fee_minor=gateway_fee(price_minor, gateway.percent_bps, gateway.fixed_minor)
        if gateway
        else 0,
        blended=entry.blended,
    )


def _audit_values(item: SaleItem) -> dict[str, Any]:
    return {
        "external_ref": item.external_ref,
        "name": item.name,
        "currency": item.currency_id,
        "fee_type": item.fee_type_id,
        "price_minor": item.price_minor,
        "reseller_fee_minor": item.reseller_fee_minor,
        "gateway_fee_minor": item.gateway_fee_minor,
        "blended": item.blended,
        "fee_revision": item.fee_revision,
    }


def _apply_fees(item: SaleItem, fees: Fees) -> None:
    item.reseller_fee_minor = fees.reseller_fee_minor
    item.gateway_fee_minor = fees.gateway_fee_minor
    item.blended = fees.blended
    item.fee_revision += 1
    item.fees_updated_at = timezone.now()


def fee_quote(
    *, actor: Actor, company_id: int, currency: Any, fee_type: Any, price_minor: Any
) -> FeeQuote:
    """The fees an item would get now. Stores nothing; readers (viewers, the company) may ask."""
    company = company_get_for_actor(actor, company_id)
    code, key, price = (
        _clean_currency(currency),
        _clean_fee_type(fee_type),
        _clean_price(price_minor),
    )
    return FeeQuote(company.pk, code, key, price, _company_fees(company, code, key, price))


def sale_item_create(*, actor: Actor, company_id: int, data: Mapping[str, Any]) -> SaleItem:
    company = company_get_for_actor(actor, company_id)
    actor.require_write()  # visibility was checked by company_get_for_actor
    reject_unknown(data, SALE_ITEM_FIELDS)
    item = SaleItem(
        company=company,
        external_ref=clean_str(
            data.get("external_ref"), "external_ref", max_length=120, required=False
        ),
        name=clean_str(data.get("name"), "name", max_length=200),
        currency_id=_clean_currency(data.get("currency")),
        fee_type_id=_clean_fee_type(data.get("fee_type")),
        price_minor=_clean_price(data.get("price_minor")),
    )
    _apply_fees(item, _company_fees(company, item.currency_id, item.fee_type_id, item.price_minor))
    with transaction.atomic():
        item.save()
        audit_record(
            actor=actor,
            action="sale_item.create",
            object_type="sale_item",
            object_id=item.pk,
            object_repr=item.name,
            reseller_id=company.reseller_id,
            new=_audit_values(item),
        )
    return item


def sale_item_update(*, actor: Actor, item_id: int, changes: Mapping[str, Any]) -> SaleItem:
    """Edit an item. Any edit of price, currency or fee type recomputes its fees from the
    company's current effective schedule (the "only new/edited items" half of SPEC §6)."""
    reject_unknown(changes, SALE_ITEM_FIELDS)
    with transaction.atomic():
        # Locked so a concurrent edit or recalculation chunk cannot interleave.
        item = SaleItem.objects.select_for_update().filter(pk=item_id).first()
        if item is None:
            raise NotFound("Sale item not found.")
        company = company_get_for_actor(actor, item.company_id)
        actor.require_write()  # visibility was checked by company_get_for_actor
        before = _audit_values(item)
        if "name" in changes:
            item.name = clean_str(changes["name"], "name", max_length=200)
        if "external_ref" in changes:
            item.external_ref = clean_str(
                changes["external_ref"], "external_ref", max_length=120, required=False
            )
        if "currency" in changes:
            item.currency_id = _clean_currency(changes["currency"])
        if "fee_type" in changes:
            item.fee_type_id = _clean_fee_type(changes["fee_type"])
        if "price_minor" in changes:
            item.price_minor = _clean_price(changes["price_minor"])
        if any(f in changes for f in FEE_INPUT_FIELDS):
            fees = _company_fees(company, item.currency_id, item.fee_type_id, item.price_minor)
            _apply_fees(item, fees)
        item.save()
        audit_record(
            actor=actor,
            action="sale_item.update",
            object_type="sale_item",
            object_id=item.pk,
            object_repr=item.name,
            reseller_id=company.reseller_id,
            old=before,
            new=_audit_values(item),
        )
    return item
