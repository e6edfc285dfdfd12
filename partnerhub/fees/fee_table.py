"""The fee table input shared by the plan and company forms: one block per currency,
one row per fee type (percent, fixed, min, max), and the blended switch per currency."""

from __future__ import annotations

from typing import Any

from django import forms

from partnerhub.accounts.hub import set_choices
from partnerhub.core import wording
from partnerhub.core.money import (
    AmountTooLarge,
    bps_to_percent_str,
    format_money,
    major_str_to_minor,
    minor_to_major_str,
    percent_str_to_bps,
)
from partnerhub.fees.schedules import MAX_AMOUNT_MINOR, MAX_PERCENT_BPS

FEE_PARTS = ("percent", "fixed", "min", "max")


class DecimalTextInput(forms.TextInput):
    def __init__(self, **attrs: Any) -> None:
        super().__init__(attrs={"inputmode": "decimal", "autocomplete": "off", **attrs})


class FeeTableMixin(forms.Form):
    fee_currencies = forms.MultipleChoiceField(required=False)
    # Never rendered as an input: where the service's fee errors are shown.
    fees = forms.CharField(required=False)

    fee_currency_codes: list[str]
    fee_type_choices: list[tuple[str, str]]

    def add_fee_fields(self, currencies: list[str], fee_types: list[tuple[str, str]]) -> None:
        self.fee_currency_codes = currencies
        self.fee_type_choices = fee_types
        self._fee_entry_labels: list[str] = []
        set_choices(self, "fee_currencies", [(c, c) for c in currencies])
        for code in currencies:
            for fee_type, fee_name in fee_types:
                for part in FEE_PARTS:
                    self.fields[f"fee_{code}_{fee_type}_{part}"] = forms.CharField(
                        label=f"{fee_name} {part} ({code})",
                        required=False,
                        widget=DecimalTextInput(),
                    )
            self.fields[f"blended_{code}"] = forms.BooleanField(
                label=f"Blended fees ({code})", required=False
            )

    @staticmethod
    def fee_initial(fees: list[dict[str, Any]], blended: dict[str, bool]) -> dict[str, Any]:
        initial: dict[str, Any] = {"fee_currencies": sorted({f["currency"] for f in fees})}
        for f in fees:
            base = f"fee_{f['currency']}_{f['fee_type']}"
            initial[f"{base}_percent"] = bps_to_percent_str(f["percent_bps"])
            for part in ("fixed", "min", "max"):
                initial[f"{base}_{part}"] = minor_to_major_str(f[f"{part}_minor"], f["currency"])
        for code, flag in blended.items():
            initial[f"blended_{code}"] = flag
        return initial

    def money_value(
        self, field: str, currency: str, *, maximum: int | None = None, what: str = "amount"
    ) -> int | None:
        """The amount typed in `field` in minor units; a problem lands on that field.

        `maximum` (minor units) is the service's own ceiling, checked here too so every
        field's error shows in the same round trip, said in the person's currency."""
        text = (self.cleaned_data.get(field) or "").strip()
        if not text:
            return None
        try:
            amount = major_str_to_minor(text, currency)
        except AmountTooLarge as exc:
            too_large = maximum is not None
            self.add_error(
                field,
                wording.highest(what, format_money(maximum, currency)) if too_large else str(exc),
            )
            return None
        except ValueError as exc:
            self.add_error(field, str(exc))
            return None
        if maximum is not None and amount > maximum:
            self.add_error(field, wording.highest(what, format_money(maximum, currency)))
            return None
        return amount

    def percent_value(
        self, field: str, *, maximum: int | None = None, what: str = "Percent"
    ) -> int | None:
        """Basis points from the percentage typed in `field`; `maximum` in basis points."""
        text = (self.cleaned_data.get(field) or "").strip()
        if not text:
            return None
        try:
            bps = percent_str_to_bps(text)
        except ValueError as exc:
            too_large = isinstance(exc, AmountTooLarge) and maximum is not None
            self.add_error(field, self._percent_too_high(maximum, what) if too_large else str(exc))
            return None
        if maximum is not None and bps > maximum:
            self.add_error(field, self._percent_too_high(maximum, what))
            return None
        return bps

    @staticmethod
    def _percent_too_high(maximum: int | None, what: str) -> str:
        return wording.percent_at_most(what, bps_to_percent_str(maximum))

    def fee_data(self) -> tuple[list[dict[str, Any]], dict[str, bool]]:
        """(fees, blended) in the SPEC §12 shape; parsing errors land on the fields."""
        fees: list[dict[str, Any]] = []
        blended: dict[str, bool] = {}
        self._fee_entry_labels = []
        self._fee_entry_bases: list[str] = []
        for code in self.cleaned_data.get("fee_currencies") or []:
            for fee_type, fee_name in self.fee_type_choices:
                base = f"fee_{code}_{fee_type}"
                typed = any(
                    (self.cleaned_data.get(f"{base}_{part}") or "").strip() for part in FEE_PARTS
                )
                percent = self.percent_value(f"{base}_percent", maximum=MAX_PERCENT_BPS)
                fixed, lo, hi = (
                    self.money_value(f"{base}_{p}", code, maximum=MAX_AMOUNT_MINOR, what="fee")
                    for p in ("fixed", "min", "max")
                )
                if not typed:
                    continue  # no fee of this type in this currency
                if lo is not None and hi is not None and lo > hi:
                    self.add_error(f"{base}_min", wording.MIN_ABOVE_MAX)
                fees.append(
                    {
                        "currency": code,
                        "fee_type": fee_type,
                        "percent_bps": percent or 0,
                        "fixed_minor": fixed or 0,
                        "min_minor": lo,
                        "max_minor": hi,
                    }
                )
                self._fee_entry_labels.append(f"{code} {wording.fee_type_name(fee_name)}")
                self._fee_entry_bases.append(base)
            if any(f["currency"] == code for f in fees):
                blended[code] = bool(self.cleaned_data.get(f"blended_{code}"))
        return fees, blended

    def fee_error_label(self, index: int) -> str:
        labels = getattr(self, "_fee_entry_labels", [])
        return labels[index] if 0 <= index < len(labels) else "Fee"

    def split_fee_errors(self, details: dict[str, Any]) -> dict[str, Any]:
        """Put fee entry errors in plain words on the fee table cell they are about (the
        service names the entry, `fees[2]`, and the part in its message); answer the rest."""
        rest: dict[str, Any] = {}
        for field, messages in details.items():
            if field.startswith("fees[") and field.endswith("]"):
                raw = field[5:-1]
                index = int(raw) if raw.isdigit() else -1
                for message in messages:
                    self._add_fee_entry_error(index, str(message))
            elif field.startswith("blended."):
                for message in messages:
                    self.add_error("fees", f"Blended {field[8:]}: {wording.plain(message)}")
            else:
                rest[field] = messages
        return rest

    def _add_fee_entry_error(self, index: int, message: str) -> None:
        bases = getattr(self, "_fee_entry_bases", [])
        part = next((p for p in FEE_PARTS if message.startswith(f"{p}_")), None)
        if part and 0 <= index < len(bases) and f"{bases[index]}_{part}" in self.fields:
            self.add_error(f"{bases[index]}_{part}", wording.plain(message))
        else:
            self.add_error("fees", f"{self.fee_error_label(index)}: {wording.plain(message)}")

    def fee_blocks(self) -> list[dict[str, Any]]:
        value = self["fee_currencies"].value()
        chosen = set(value) if isinstance(value, list | tuple) else set()
        return [
            {
                "code": code,
                "active": code in chosen,
                "blended": self[f"blended_{code}"],
                "rows": [
                    (name, [self[f"fee_{code}_{key}_{part}"] for part in FEE_PARTS])
                    for key, name in self.fee_type_choices
                ],
            }
            for code in self.fee_currency_codes
        ]
