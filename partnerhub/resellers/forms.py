"""Reseller forms of the hub: identity and features (platform), default registration plan
and the reseller fee schedule (the platform and the reseller's admin)."""

from __future__ import annotations

from typing import Any

from django import forms

from partnerhub.accounts.hub import set_choices
from partnerhub.core import wording
from partnerhub.fees.apply import FEE_APPLY_CHOICES
from partnerhub.fees.fee_table import FeeTableMixin
from partnerhub.resellers.models import RESELLER_NAME_MAX_LENGTH, RESELLER_SLUG_MAX_LENGTH
from partnerhub.resellers.selectors import reseller_slug_taken

PLATFORM_FIELDS = ("name", "slug", "features")


class ResellerForm(FeeTableMixin, forms.Form):
    name = forms.CharField(label="Name", max_length=RESELLER_NAME_MAX_LENGTH)
    slug = forms.SlugField(
        label="Slug",
        max_length=RESELLER_SLUG_MAX_LENGTH,
        help_text="Used in the public registration address /r/<slug>/register.",
    )
    features = forms.MultipleChoiceField(
        label="Enabled features", required=False, widget=forms.CheckboxSelectMultiple
    )
    default_registration_plan_id = forms.ChoiceField(
        label="Default registration plan",
        required=False,
        help_text="New self-service registrations get this plan (it must be assignable).",
    )
    registration_plan_choice = forms.BooleanField(
        label="Let visitors choose a plan",
        required=False,
        help_text="Off: visitors choose nothing and get the default registration plan. "
        "On: the form also offers your visible, assignable plans.",
    )
    fee_apply_mode = forms.ChoiceField(
        required=False, choices=FEE_APPLY_CHOICES, widget=forms.RadioSelect
    )

    def __init__(
        self,
        *args: Any,
        features: list[tuple[str, str]],
        plans: list[Any],
        platform: bool,
        currencies: list[str],
        fee_types: list[tuple[str, str]],
        with_settings: bool = True,
        reseller_id: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.reseller_id = reseller_id
        set_choices(self, "features", features)
        set_choices(self, "default_registration_plan_id", plans)
        if not platform:
            for name in PLATFORM_FIELDS:
                del self.fields[name]
        self.with_settings = with_settings
        if with_settings:
            self.add_fee_fields(currencies, fee_types)
        else:  # a new reseller: identity and features first
            del self.fields["default_registration_plan_id"]
            del self.fields["registration_plan_choice"]
            del self.fields["fee_currencies"]
            del self.fields["fees"]

    def clean_slug(self) -> str:
        """A taken slug shows with every other error in the one pass (issue #13)."""
        slug = str(self.cleaned_data["slug"]).strip()
        if reseller_slug_taken(slug, exclude_id=self.reseller_id):
            raise forms.ValidationError(wording.taken("slug"))
        return slug

    def data_for_service(self) -> dict[str, Any]:
        cd = self.cleaned_data
        data: dict[str, Any] = {}
        if "name" in self.fields:
            data.update(
                name=cd.get("name") or "",
                slug=cd.get("slug") or "",
                features=sorted(cd.get("features") or []),
            )
        if self.with_settings:
            raw = cd.get("default_registration_plan_id") or ""
            data["default_registration_plan_id"] = int(raw) if raw.isdigit() else None
            data["registration_plan_choice"] = bool(cd.get("registration_plan_choice"))
            data["fees"], data["blended"] = self.fee_data()
        return data
