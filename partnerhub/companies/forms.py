"""The company edit form: parses input into company_update's `changes` (SPEC §12)."""

from __future__ import annotations

from typing import Any

from django import forms

from partnerhub.accounts.hub import set_choices
from partnerhub.companies.models import COMPANY_NAME_MAX_LENGTH
from partnerhub.core import wording
from partnerhub.core.limits import MAX_LIMIT_VALUE
from partnerhub.fees.apply import FEE_APPLY_CHOICES
from partnerhub.fees.fee_table import FeeTableMixin


class CompanyForm(FeeTableMixin, forms.Form):
    name = forms.CharField(label="Company name", max_length=COMPANY_NAME_MAX_LENGTH)
    contact_email = forms.EmailField(label="Contact email", required=False)
    plan_id = forms.ChoiceField(label="Plan", required=False)
    use_plan_fees = forms.BooleanField(label="Use plan fees", required=False)
    kept_plan_features = forms.MultipleChoiceField(required=False)
    direct_features = forms.MultipleChoiceField(
        label="Other features", required=False, widget=forms.CheckboxSelectMultiple
    )
    fees_editable = forms.BooleanField(required=False, widget=forms.HiddenInput)
    fee_apply_mode = forms.ChoiceField(
        required=False, choices=FEE_APPLY_CHOICES, widget=forms.RadioSelect
    )
    # Subscription terms (SPEC §13): choices are the company's plan's cycles and currencies.
    billing_cycle = forms.ChoiceField(label="Billing cycle", required=False)
    billing_currency = forms.ChoiceField(label="Billing currency", required=False)
    billing_anchor = forms.DateField(
        label="Billing anchor",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Usage periods are months counted from this day.",
    )
    # Where section-wide service errors are shown.
    limit_overrides = forms.CharField(required=False)
    excluded_features = forms.CharField(required=False)

    def __init__(
        self,
        *args: Any,
        company: Any,
        plan_choices: list[Any],
        plan_features: list[tuple[str, str]],
        other_features: list[tuple[str, str]],
        limits: list[tuple[str, str]],
        currencies: list[str],
        fee_types: list[tuple[str, str]],
        term_choices: tuple[list[str], list[str]] = ([], []),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.company = company
        set_choices(self, "plan_id", plan_choices)
        cycles, term_currencies = term_choices
        # The stored terms stay choosable, so a form posted back unchanged keeps them.
        cycles = [*cycles, *[c for c in [company.billing_cycle] if c not in cycles]]
        term_currencies = [
            *term_currencies,
            *[c for c in [company.billing_currency] if c not in term_currencies],
        ]
        set_choices(self, "billing_cycle", [(c, c.title()) for c in cycles])
        set_choices(
            self, "billing_currency", [(c, c or "None (no plan prices)") for c in term_currencies]
        )
        set_choices(self, "kept_plan_features", plan_features)
        set_choices(self, "direct_features", other_features)
        self.limit_keys = [key for key, _ in limits]
        for key, name in limits:
            self.fields[f"override_{key}"] = forms.IntegerField(
                label=name,
                required=False,
                min_value=0,
                max_value=MAX_LIMIT_VALUE,
                error_messages={
                    "min_value": wording.OVERRIDE_NOT_NEGATIVE,
                    "max_value": wording.OVERRIDE_TOO_LARGE,
                    "invalid": wording.WHOLE_NUMBER,
                },
                widget=forms.NumberInput(attrs={"placeholder": "Follow plan", "min": 0}),
            )
            self.fields[f"unlimited_{key}"] = forms.BooleanField(
                label=f"{name}: unlimited",
                required=False,
                # hub.js clears and disables the number while this is ticked.
                widget=forms.CheckboxInput(attrs={"data-unlimited-for": f"override_{key}"}),
            )
        self.add_fee_fields(currencies, fee_types)

    @staticmethod
    def initial_from_company(
        company: dict[str, Any], plan_feature_keys: list[str]
    ) -> dict[str, Any]:
        excluded = set(company["excluded_features"])
        initial: dict[str, Any] = {
            "name": company["name"],
            "contact_email": company["contact_email"],
            "plan_id": str(company["plan_id"] or ""),
            "use_plan_fees": company["use_plan_fees"],
            "kept_plan_features": [k for k in plan_feature_keys if k not in excluded],
            "direct_features": company["direct_features"],
            "billing_cycle": company["billing_cycle"],
            "billing_currency": company["billing_currency"],
            "billing_anchor": company["billing_anchor"],
        }
        for key, value in company["limit_overrides"].items():
            if value is None:
                initial[f"unlimited_{key}"] = True
            else:
                initial[f"override_{key}"] = value
        initial.update(FeeTableMixin.fee_initial(company["fees"], company["blended"]))
        return initial

    def _limit_overrides(self) -> dict[str, int | None]:
        """Empty follows the plan; "unlimited" overrides with no limit (None)."""
        cd = self.cleaned_data
        overrides: dict[str, int | None] = {}
        for key in self.limit_keys:
            if cd.get(f"unlimited_{key}") and cd.get(f"override_{key}") is not None:
                # Both a number and Unlimited (without the page script): never guess which.
                self.add_error(f"override_{key}", wording.NUMBER_OR_UNLIMITED)
            elif cd.get(f"unlimited_{key}"):
                overrides[key] = None
            elif cd.get(f"override_{key}") is not None:
                overrides[key] = cd[f"override_{key}"]
        return overrides

    def changes(self) -> dict[str, Any]:
        cd = self.cleaned_data
        raw_plan = cd.get("plan_id") or ""
        plan_id = int(raw_plan) if raw_plan.isdigit() else None
        same_plan = plan_id == self.company.plan_id
        changes: dict[str, Any] = {
            "name": cd.get("name") or "",
            "contact_email": cd.get("contact_email") or "",
            "plan_id": plan_id,
            "direct_features": sorted(cd.get("direct_features") or []),
            "limit_overrides": self._limit_overrides(),
        }
        if same_plan and plan_id is not None:
            kept = set(cd.get("kept_plan_features") or [])
            plan_keys = {key for key, _ in self.fields["kept_plan_features"].choices}  # type: ignore[attr-defined]
            # Exclusions of plan features the form does not show (the reseller no longer
            # enables them) are carried through, not dropped.
            stored = {f.key for f in self.company.excluded_features.all()}
            changes["excluded_features"] = sorted((plan_keys - kept) | (stored - plan_keys))
            changes["use_plan_fees"] = bool(cd.get("use_plan_fees"))
        if same_plan:
            # On a new plan the terms it lacks reset to its defaults; the anchor stays ours.
            changes["billing_cycle"] = cd.get("billing_cycle") or self.company.billing_cycle
            changes["billing_currency"] = cd.get("billing_currency") or ""
        if cd.get("billing_anchor"):
            changes["billing_anchor"] = cd["billing_anchor"]
        own_fees_apply = plan_id is None or (same_plan and not changes.get("use_plan_fees"))
        if cd.get("fees_editable") and own_fees_apply:
            changes["fees"], changes["blended"] = self.fee_data()
        return changes


class FeeApplyForm(forms.Form):
    fee_apply_mode = forms.ChoiceField(choices=[("all", "all"), ("new", "new")], required=False)


class CompanyCreateForm(forms.Form):
    name = forms.CharField(label="Company name", max_length=COMPANY_NAME_MAX_LENGTH)
    contact_email = forms.EmailField(label="Contact email", required=False)
    plan_id = forms.ChoiceField(
        label="Plan",
        required=False,
        help_text="Only enabled, non-archived plans can be assigned. Its fees apply at once.",
    )

    def __init__(self, *args: Any, plan_choices: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "plan_id", plan_choices)

    def company_data(self) -> dict[str, Any]:
        cd = self.cleaned_data
        raw = cd.get("plan_id") or ""
        return {
            "name": cd["name"],
            "contact_email": cd.get("contact_email") or "",
            "plan_id": int(raw) if raw.isdigit() else None,
        }
