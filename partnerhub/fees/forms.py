"""The sale item form: a price in major units becomes minor units for sale_item_create."""

from __future__ import annotations

from typing import Any

from django import forms

from partnerhub.accounts.hub import set_choices
from partnerhub.catalog.choices import currency_codes, fee_type_choices
from partnerhub.core.money import major_str_to_minor
from partnerhub.fees.models import SALE_ITEM_NAME_MAX_LENGTH, SALE_ITEM_REF_MAX_LENGTH


class SaleItemForm(forms.Form):
    name = forms.CharField(label="Name", max_length=SALE_ITEM_NAME_MAX_LENGTH)
    external_ref = forms.CharField(
        label="External reference", max_length=SALE_ITEM_REF_MAX_LENGTH, required=False
    )
    currency = forms.ChoiceField(label="Currency")
    fee_type = forms.ChoiceField(label="Fee type")
    price = forms.CharField(label="Price", widget=forms.TextInput(attrs={"inputmode": "decimal"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "currency", [(c, c) for c in currency_codes()])
        set_choices(self, "fee_type", fee_type_choices())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "price" in cleaned and "currency" in cleaned:
            try:
                cleaned["price_minor"] = major_str_to_minor(cleaned["price"], cleaned["currency"])
            except ValueError as exc:
                self.add_error("price", str(exc))
        return cleaned

    def item_data(self) -> dict[str, Any]:
        cd = self.cleaned_data
        return {
            "name": cd["name"],
            "external_ref": cd.get("external_ref") or "",
            "currency": cd["currency"],
            "fee_type": cd["fee_type"],
            "price_minor": cd["price_minor"],  # minor units
        }
