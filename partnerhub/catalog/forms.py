"""Catalog forms of the hub (platform): a new feature, gateway fees, the GST rate."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from django import forms

from partnerhub.catalog.models import (
    CURRENCY_CODE_LENGTH,
    CURRENCY_NAME_MAX_LENGTH,
    KEY_MAX_LENGTH,
    LIMIT_UNIT_MAX_LENGTH,
    NAME_MAX_LENGTH,
)
from partnerhub.catalog.selectors import catalog_key_taken, currency_taken
from partnerhub.catalog.services import KEY_PATTERN, MAX_BPS
from partnerhub.core import wording
from partnerhub.core.errors import ValidationFailed
from partnerhub.core.iso4217 import ISO4217_EXPONENTS
from partnerhub.core.money import major_str_to_minor, percent_str_to_bps
from partnerhub.fees.fee_table import DecimalTextInput


def _percent_to_bps(text: str, what: str = "Percent") -> int:
    """Basis points from a percentage a person typed; above 100 % is refused in words."""
    bps = percent_str_to_bps(text)
    if bps > MAX_BPS:
        raise ValueError(wording.percent_at_most(what, "100"))
    return bps


class _KeyRules:
    """A new catalog entry (mixed into its form): the key's service-only rules (its shape,
    taken or not) are checked in the form's one pass, so one submit shows every error at
    its field (issue #13)."""

    kind = ""
    cleaned_data: dict[str, Any]

    def clean_key(self) -> str:
        key = str(self.cleaned_data["key"]).strip()
        if not KEY_PATTERN.match(key):
            raise forms.ValidationError(wording.KEY_SHAPE)
        if catalog_key_taken(self.kind, key):
            raise forms.ValidationError(wording.taken("key"))
        return key


class FeatureForm(_KeyRules, forms.Form):
    kind = "feature"
    key = forms.SlugField(label="Key", max_length=KEY_MAX_LENGTH)
    name = forms.CharField(label="Name", max_length=NAME_MAX_LENGTH)
    description = forms.CharField(label="Description", required=False)


class FeatureEditForm(forms.Form):
    name = forms.CharField(label="Name", max_length=NAME_MAX_LENGTH)
    description = forms.CharField(label="Description", required=False, widget=forms.Textarea)


class LimitForm(_KeyRules, forms.Form):
    kind = "limit"
    key = forms.SlugField(label="Key", max_length=KEY_MAX_LENGTH)
    name = forms.CharField(label="Name", max_length=NAME_MAX_LENGTH)
    unit = forms.CharField(label="Unit", max_length=LIMIT_UNIT_MAX_LENGTH, required=False)
    period = forms.ChoiceField(
        label="Period", choices=[("none", "No period"), ("month", "Per month")]
    )


class FeeTypeForm(_KeyRules, forms.Form):
    kind = "fee_type"
    key = forms.SlugField(label="Key", max_length=KEY_MAX_LENGTH)
    name = forms.CharField(label="Name", max_length=NAME_MAX_LENGTH)


class CurrencyForm(forms.Form):
    code = forms.CharField(label="ISO 4217 code", max_length=CURRENCY_CODE_LENGTH)
    name = forms.CharField(label="Name", max_length=CURRENCY_NAME_MAX_LENGTH, required=False)

    def clean_code(self) -> str:
        code = str(self.cleaned_data["code"]).strip().upper()
        if code not in ISO4217_EXPONENTS:
            raise forms.ValidationError(wording.UNKNOWN_CURRENCY)
        if currency_taken(code):
            raise forms.ValidationError(wording.CURRENCY_TAKEN)
        return code


class TaxForm(forms.Form):
    gst_percent = forms.CharField(label="GST rate (%)", widget=DecimalTextInput())

    def gst_rate_bps(self) -> int | None:
        try:
            return _percent_to_bps(self.cleaned_data["gst_percent"], "The GST rate")
        except ValueError as exc:
            self.add_error("gst_percent", str(exc))
            return None


class GatewayFeesForm(forms.Form):
    """One row per currency; a row left empty means no gateway fee in that currency."""

    def __init__(self, *args: Any, currencies: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currencies = currencies
        for code in currencies:
            self.fields[f"percent_{code}"] = forms.CharField(
                label=f"{code} percent", required=False, widget=DecimalTextInput()
            )
            self.fields[f"fixed_{code}"] = forms.CharField(
                label=f"{code} fixed", required=False, widget=DecimalTextInput()
            )

    def rows(self) -> list[tuple[str, forms.BoundField, forms.BoundField]]:
        return [(c, self[f"percent_{c}"], self[f"fixed_{c}"]) for c in self.currencies]

    def entries(self) -> list[dict[str, Any]]:
        entries = []
        for code in self.currencies:
            percent_text = (self.cleaned_data.get(f"percent_{code}") or "").strip()
            fixed_text = (self.cleaned_data.get(f"fixed_{code}") or "").strip()
            if not percent_text and not fixed_text:
                continue
            percent = self._parse(f"percent_{code}", percent_text, _percent_to_bps)
            to_minor = partial(major_str_to_minor, currency=code)
            fixed = self._parse(f"fixed_{code}", fixed_text, to_minor)
            if percent is None or fixed is None:
                continue
            entries.append({"currency": code, "percent_bps": percent, "fixed_minor": fixed})
        return entries

    def add_service_errors(self, exc: ValidationFailed) -> None:
        """`entries[i].fixed_minor` -> the fixed field of the i-th row sent, in plain words."""
        sent = [
            c
            for c in self.currencies
            if (self.cleaned_data.get(f"percent_{c}") or "").strip()
            or (self.cleaned_data.get(f"fixed_{c}") or "").strip()
        ]
        details = exc.details if isinstance(exc.details, dict) else {}
        for path, messages in details.items():
            index, _, part = path.removeprefix("entries[").partition("]")
            field = "fixed" if part.startswith(".fixed") else "percent"
            code = sent[int(index)] if index.isdigit() and int(index) < len(sent) else None
            for message in messages if isinstance(messages, list) else [messages]:
                self.add_error(f"{field}_{code}" if code else None, wording.plain(str(message)))
        if not details:
            self.add_error(None, wording.plain(exc.message))

    def _parse(self, field: str, text: str, parse: Callable[[str], int]) -> int | None:
        """An empty half of a row is 0; a bad one is an error on its own field."""
        try:
            return parse(text) if text else 0
        except ValueError as exc:
            self.add_error(field, str(exc))
            return None
