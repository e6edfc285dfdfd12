"""Sale item writes and the fee quote (SPEC §6). Jobs: fees/jobs.py and fees/recalc/."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from partnerhub.audit.services import audit_record
from partnerhub.catalog.models import CURRENCY_CODE_LENGTH, KEY_MAX_LENGTH, Currency, FeeType
from partnerhub.core.actor import Actor
from partnerhub.core.errors import NotFound, ValidationFailed
from partnerhub.core.limits import MAX_PRICE_MINOR
from partnerhub.core.validation import clean_int, clean_str, reject_unknown
from partnerhub.fees.arithmetic import Fees
from partnerhub.fees.models import SALE_ITEM_NAME_MAX_LENGTH, SALE_ITEM_REF_MAX_LENGTH, SaleItem
from partnerhub.fees.terms import ItemTerms, existing_item_terms, item_terms

SALE_ITEM_FIELDS = ("external_ref", "name", "currency", "fee_type", "price_minor")


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
    # Shape only; whether the catalog knows it is checked when no fee entry matches
    # (_priceable), which keeps the everyday path to one query.
    return clean_str(value, "currency", max_length=CURRENCY_CODE_LENGTH).upper()


def _clean_fee_type(value: Any) -> str:
    return clean_str(value, "fee_type", max_length=KEY_MAX_LENGTH)


def _key(value: Any) -> str:
    """A lenient lookup key, for reading terms before the input is validated."""
    return value.strip() if isinstance(value, str) else ""


def _require_catalog(currency: str, fee_type: str) -> None:
    if not Currency.objects.filter(code=currency).exists():
        raise ValidationFailed.field("currency", f"unknown currency {currency!r}")
    if not FeeType.objects.filter(key=fee_type).exists():
        raise ValidationFailed.field("fee_type", f"unknown fee type {fee_type!r}")


def _clean_price(value: Any) -> int:
    return clean_int(value, "price_minor", minimum=0, maximum=MAX_PRICE_MINOR)


def _terms(
    actor: Actor,
    company_id: int,
    currency: str,
    fee_type: str,
    *,
    lock: bool = False,
    missing: str = "Company not found.",
) -> ItemTerms:
    """The company's pricing terms, or NotFound for a company the actor cannot see."""
    terms = item_terms(company_id, currency, fee_type, lock=lock)
    if terms is None or not actor.sees_company(terms.company_id, terms.reseller_id):
        raise NotFound(missing)
    return terms


def _priceable(terms: ItemTerms, currency: str, fee_type: str) -> ItemTerms:
    """An item must be priceable when it is written: a currency/fee type the effective
    schedule has no entry for is refused, naming both. (A recalculation meeting the
    same gap later sets a zero reseller fee instead; see fees/recalc/statement.py.)"""
    if not terms.has_entry:
        _require_catalog(currency, fee_type)
        raise ValidationFailed.field(
            "currency",
            f"The company's fee schedule has no {fee_type} fee for {currency}; "
            f"add one to its fees before selling in {currency}.",
        )
    return terms


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
    code, key, price = (
        _clean_currency(currency),
        _clean_fee_type(fee_type),
        _clean_price(price_minor),
    )
    terms = _priceable(_terms(actor, company_id, code, key), code, key)
    return FeeQuote(company_id, code, key, price, terms.fees(price))


def sale_item_create(*, actor: Actor, company_id: int, data: Mapping[str, Any]) -> SaleItem:
    with transaction.atomic():
        # Tenancy first (an outsider learns nothing from validation), then the input.
        # The terms are read under a share lock on the company (see item_terms).
        terms = _terms(
            actor,
            company_id,
            _key(data.get("currency")).upper(),
            _key(data.get("fee_type")),
            lock=True,
        )
        actor.require_write()
        reject_unknown(data, SALE_ITEM_FIELDS)
        currency = _clean_currency(data.get("currency"))
        fee_type = _clean_fee_type(data.get("fee_type"))
        item = SaleItem(
            company_id=company_id,
            external_ref=clean_str(
                data.get("external_ref"),
                "external_ref",
                max_length=SALE_ITEM_REF_MAX_LENGTH,
                required=False,
            ),
            name=clean_str(data.get("name"), "name", max_length=SALE_ITEM_NAME_MAX_LENGTH),
            currency_id=currency,
            fee_type_id=fee_type,
            price_minor=_clean_price(data.get("price_minor")),
        )
        _apply_fees(item, _priceable(terms, currency, fee_type).fees(item.price_minor))
        item.save(force_insert=True)
        audit_record(
            actor=actor,
            action="sale_item.create",
            object_type="sale_item",
            object_id=item.pk,
            object_repr=item.name,
            reseller_id=terms.reseller_id,
            new=_audit_values(item),
        )
    return item


def sale_item_update(*, actor: Actor, item_id: int, changes: Mapping[str, Any]) -> SaleItem:
    """Edit an item. Any edit, a rename included, recomputes its fees from the company's
    current effective schedule: that is what "Apply only to new/edited items" promises
    (SPEC §6), so an item renamed after such a fee change must not keep the old fees."""

    def locked_terms(currency: Any, fee_type: Any) -> tuple[ItemTerms, str, str]:
        found = existing_item_terms(
            item_id,
            None if currency is None else _key(currency).upper(),
            None if fee_type is None else _key(fee_type),
            lock=True,
        )
        if found is None or not actor.sees_company(found[0].company_id, found[0].reseller_id):
            raise NotFound("Sale item not found.")
        return found

    with transaction.atomic():
        # Company (share) before item, the order a recalculation chunk locks them in.
        terms, old_currency, old_fee_type = locked_terms(
            changes.get("currency"), changes.get("fee_type")
        )
        item = SaleItem.objects.select_for_update().get(pk=item_id)
        raw_currency = changes.get("currency", item.currency_id)
        raw_fee_type = changes.get("fee_type", item.fee_type_id)
        if (item.currency_id, item.fee_type_id) != (old_currency, old_fee_type):
            terms = locked_terms(raw_currency, raw_fee_type)[0]  # edited meanwhile
        actor.require_write()
        reject_unknown(changes, SALE_ITEM_FIELDS)
        currency, fee_type = _clean_currency(raw_currency), _clean_fee_type(raw_fee_type)
        before = _audit_values(item)
        if "name" in changes:
            item.name = clean_str(changes["name"], "name", max_length=SALE_ITEM_NAME_MAX_LENGTH)
        if "external_ref" in changes:
            item.external_ref = clean_str(
                changes["external_ref"],
                "external_ref",
                max_length=SALE_ITEM_REF_MAX_LENGTH,
                required=False,
            )
        if "price_minor" in changes:
            item.price_minor = _clean_price(changes["price_minor"])
        if changes:
            item.currency_id, item.fee_type_id = currency, fee_type
            _apply_fees(item, _priceable(terms, currency, fee_type).fees(item.price_minor))
        item.save()
        audit_record(
            actor=actor,
            action="sale_item.update",
            object_type="sale_item",
            object_id=item.pk,
            object_repr=item.name,
            reseller_id=terms.reseller_id,
            old=before,
            new=_audit_values(item),
        )
    return item
