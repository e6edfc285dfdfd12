"""The API key form of the hub."""

from __future__ import annotations

from django import forms

from partnerhub.accounts.hub import set_choices
from partnerhub.accounts.models import ApiKey


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=120,
        required=False,
        help_text="What the key is for, e.g. “ticketing backend”.",
    )
    scope = forms.ChoiceField(label="Access", choices=ApiKey.Scope.choices)
    reseller_id = forms.IntegerField(label="Reseller", required=False, widget=forms.Select)
    company_id = forms.IntegerField(
        label="Company id", required=False, help_text="Only for a company key."
    )

    def __init__(
        self, *args: object, resellers: list[tuple[int, str]], platform: bool, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if platform:
            self.fields["reseller_id"].widget = forms.Select(choices=[("", "—"), *resellers])
        else:
            del self.fields["reseller_id"]
            set_choices(
                self, "scope", [c for c in ApiKey.Scope.choices if c[0] != ApiKey.Scope.PLATFORM]
            )
