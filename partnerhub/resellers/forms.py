"""Reseller forms of the hub (platform): identity, enabled features, default plan."""

from __future__ import annotations

from typing import Any

from django import forms

from partnerhub.web.hub import set_choices


class ResellerForm(forms.Form):
    name = forms.CharField(label="Name", max_length=200)
    slug = forms.SlugField(
        label="Slug",
        max_length=64,
        help_text="Used in the public registration address /r/<slug>/register.",
    )
    features = forms.MultipleChoiceField(
        label="Enabled features", required=False, widget=forms.CheckboxSelectMultiple
    )
    default_registration_plan_id = forms.ChoiceField(
        label="Default registration plan", required=False
    )

    def __init__(
        self,
        *args: Any,
        features: list[tuple[str, str]],
        plans: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "features", features)
        set_choices(
            self,
            "default_registration_plan_id",
            [
                ("", "None (register as Custom)"),
                *plans,
            ],
        )
        if not plans:
            del self.fields["default_registration_plan_id"]

    def data_for_service(self) -> dict[str, Any]:
        cd = self.cleaned_data
        data: dict[str, Any] = {
            "name": cd["name"],
            "slug": cd["slug"],
            "features": sorted(cd.get("features") or []),
        }
        if "default_registration_plan_id" in self.fields:
            raw = cd.get("default_registration_plan_id") or ""
            data["default_registration_plan_id"] = int(raw) if raw.isdigit() else None
        return data
