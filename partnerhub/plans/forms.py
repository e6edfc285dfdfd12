"""The plan form of the web hub: parses what a person types into the SPEC §12 plan shape.

Only parsing happens here (amounts in major units to minor units, percentages to basis
points, blank limits to "unlimited"); every rule about plans is plan_create/plan_update's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms

from partnerhub.accounts.hub import form_add_domain_errors, set_choices
from partnerhub.core import wording
from partnerhub.core.errors import ValidationFailed
from partnerhub.core.limits import MAX_LIMIT_VALUE, MAX_PLAN_PRICE_MINOR
from partnerhub.core.money import bps_to_percent_str, minor_to_major_str
from partnerhub.fees.apply import FEE_APPLY_CHOICES
from partnerhub.fees.fee_table import DecimalTextInput, FeeTableMixin
from partnerhub.plans.models import PLAN_NAME_MAX_LENGTH, BillingCycle, PlanType


@dataclass(frozen=True)
class PlanFormCatalog:
    """What the form offers: the catalog, and only the reseller's enabled features."""

    currencies: list[str]
    fee_types: list[tuple[str, str]]  # (key, name)
    limits: list[tuple[str, str, str]]  # (key, name, help)
    features: list[tuple[str, str]]  # (key, name)


MoneyInput = DecimalTextInput


class PlanForm(FeeTableMixin, forms.Form):
    plan_type = forms.ChoiceField(
        label="Plan type", choices=PlanType.choices, widget=forms.RadioSelect, initial="usage_based"
    )
    name = forms.CharField(
        label="Plan name",
        max_length=PLAN_NAME_MAX_LENGTH,
        help_text="Internal identifier for the plan.",
        error_messages={"required": wording.enter("plan name")},
        widget=forms.TextInput(attrs={"required": True, "autocomplete": "off"}),
    )
    display_name = forms.CharField(
        label="Plan display name",
        max_length=PLAN_NAME_MAX_LENGTH,
        help_text="Name visible to resellers or customers.",
        error_messages={"required": wording.enter("plan display name")},
        widget=forms.TextInput(attrs={"required": True, "autocomplete": "off"}),
    )
    description = forms.CharField(
        label="Description", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    billing_cycles = forms.MultipleChoiceField(
        label="Payment subscription period",
        choices=BillingCycle.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        initial=["monthly"],
    )
    price_currencies = forms.MultipleChoiceField(required=False)
    gst_enabled = forms.BooleanField(label="Enable GST", required=False)
    revenue_share_percent = forms.CharField(
        label="Revenue share",
        required=False,
        help_text="Your share of the revenue, in percent.",
        widget=MoneyInput(),
    )
    features = forms.MultipleChoiceField(
        label="Features", required=False, widget=forms.CheckboxSelectMultiple
    )
    # Never rendered as inputs: where the service's section-wide errors are shown.
    prices = forms.CharField(required=False)
    limits = forms.CharField(required=False)
    # Edit only.
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    fee_apply_mode = forms.ChoiceField(
        required=False,
        choices=FEE_APPLY_CHOICES,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, catalog: PlanFormCatalog, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.catalog = catalog
        codes = [(c, c) for c in catalog.currencies]
        set_choices(self, "price_currencies", codes)
        self.add_fee_fields(catalog.currencies, catalog.fee_types)
        set_choices(self, "features", catalog.features)
        for code in catalog.currencies:
            for cycle, cycle_label in BillingCycle.choices:
                self.fields[f"price_{code}_{cycle}"] = forms.CharField(
                    label=f"{cycle_label} price ({code})", required=False, widget=MoneyInput()
                )
        for key, name, help_text in catalog.limits:
            self.fields[f"limit_{key}"] = forms.IntegerField(
                label=name,
                required=False,
                min_value=0,
                max_value=MAX_LIMIT_VALUE,
                help_text=help_text,
                error_messages={
                    "min_value": wording.LIMIT_NOT_NEGATIVE,
                    "max_value": wording.LIMIT_TOO_LARGE,
                    "invalid": wording.WHOLE_NUMBER,
                },
                widget=forms.NumberInput(attrs={"placeholder": "Unlimited", "min": 0}),
            )

    # ---- initial values from a stored plan -------------------------------------------

    @staticmethod
    def initial_from_plan(plan: dict[str, Any]) -> dict[str, Any]:
        """The form's initial data from plan_serialize()'s SPEC §12 shape."""
        initial: dict[str, Any] = {
            k: plan[k]
            for k in (
                "plan_type",
                "name",
                "display_name",
                "description",
                "billing_cycles",
                "gst_enabled",
                "features",
                "version",
            )
        }
        initial["revenue_share_percent"] = bps_to_percent_str(plan["revenue_share_bps"])
        initial["price_currencies"] = sorted({p["currency"] for p in plan["prices"]})
        for p in plan["prices"]:
            initial[f"price_{p['currency']}_{p['billing_cycle']}"] = minor_to_major_str(
                p["amount_minor"], p["currency"]
            )
        initial.update(FeeTableMixin.fee_initial(plan["fees"], plan["blended"]))
        for key, value in plan["limits"].items():
            initial[f"limit_{key}"] = value
        return initial

    # ---- the plan data for the services ------------------------------------------------

    def _prices(self, cycles: list[str]) -> list[dict[str, Any]]:
        prices = []
        currencies = self.cleaned_data.get("price_currencies") or []
        if not currencies and cycles:
            self.add_error("prices", wording.ADD_PRICE_CURRENCY)
        for code in currencies:
            for cycle in cycles:
                field = f"price_{code}_{cycle}"
                amount = self.money_value(field, code, maximum=MAX_PLAN_PRICE_MINOR, what="price")
                if amount is None:
                    if field not in self.errors:
                        self.add_error(field, wording.enter_price(cycle, code))
                    continue
                prices.append({"currency": code, "billing_cycle": cycle, "amount_minor": amount})
        return prices

    def _revenue_share(self, plan_type: str | None) -> int | None:
        if plan_type != PlanType.REVENUE_SHARING:
            return None
        field = "revenue_share_percent"
        bps = self.percent_value(field, maximum=10_000, what="The revenue share")
        if field in self.errors:
            return None
        if bps is None:
            self.add_error(field, wording.ENTER_REVENUE_SHARE)
        elif bps == 0:
            self.add_error(field, wording.REVENUE_SHARE_ABOVE_ZERO)
        return bps

    def clean(self) -> dict[str, Any]:
        """Check the whole form in one pass, so every mistake shows at its field at once
        (issue #13): the field checks above, then the sections that span fields. The plan
        services stay the authority; what they still refuse is shown by add_service_errors."""
        cleaned = super().clean() or {}
        cd = self.cleaned_data
        cycles = [c for c in BillingCycle.values if c in (cd.get("billing_cycles") or [])]
        if not cycles and "billing_cycles" not in self.errors:
            self.add_error("billing_cycles", wording.CHOOSE_BILLING_CYCLE)
        self._plan_data: dict[str, Any] = {
            "plan_type": cd.get("plan_type"),
            "name": cd.get("name"),
            "display_name": cd.get("display_name"),
            "description": cd.get("description") or "",
            "billing_cycles": cycles,
            "prices": self._prices(cycles),
            "gst_enabled": bool(cd.get("gst_enabled")),
            "revenue_share_bps": self._revenue_share(cd.get("plan_type")),
            "limits": {key: cd.get(f"limit_{key}") for key, _, _ in self.catalog.limits},
            "features": sorted(cd.get("features") or []),
        }
        self._plan_data["fees"], self._plan_data["blended"] = self.fee_data()
        return cleaned

    def plan_data(self) -> dict[str, Any]:
        """The SPEC §12 plan fields, as checked by clean(). Call after is_valid() is True."""
        return self._plan_data

    def add_name_taken(self, name: str, suggestion: str | None) -> None:
        self.add_error("name", wording.name_taken("plan", name, suggestion))

    def add_service_errors(self, exc: ValidationFailed) -> None:
        """Place a service's errors next to the fields; fee entry errors at their cell."""
        details = exc.details if isinstance(exc.details, dict) else {}
        named: dict[str, Any] = {}
        for field, messages in self.split_fee_errors(details).items():
            if field.startswith("limits."):
                named[f"limit_{field[7:]}"] = messages
            elif field.startswith("prices"):
                named["prices"] = messages
            else:
                named[field] = messages
        if named or not details:
            form_add_domain_errors(
                self,
                ValidationFailed(exc.message, details=named or None),
                aliases={"revenue_share_bps": "revenue_share_percent"},
            )

    # ---- rendering helpers -------------------------------------------------------------

    def price_blocks(self) -> list[dict[str, Any]]:
        chosen = set(self._value_list("price_currencies"))
        return [
            {
                "code": code,
                "active": code in chosen,
                "prices": [(cycle, self[f"price_{code}_{cycle}"]) for cycle in BillingCycle.values],
            }
            for code in self.catalog.currencies
        ]

    def limit_fields(self) -> list[forms.BoundField]:
        return [self[f"limit_{key}"] for key, _, _ in self.catalog.limits]

    def _value_list(self, name: str) -> list[str]:
        value = self[name].value()
        return list(value) if isinstance(value, list | tuple) else []


class RestoreForm(forms.Form):
    new_name = forms.CharField(label="New plan name", max_length=PLAN_NAME_MAX_LENGTH)
