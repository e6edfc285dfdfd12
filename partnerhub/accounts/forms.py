"""The API key form of the hub."""

from __future__ import annotations

from django import forms

from partnerhub.accounts.hub import set_choices
from partnerhub.accounts.models import API_KEY_NAME_MAX_LENGTH, ApiKey
from partnerhub.core import wording


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=API_KEY_NAME_MAX_LENGTH,
        help_text="What the key is for, e.g. “ticketing backend”.",
        error_messages={"required": wording.ENTER_KEY_NAME},
    )
    scope = forms.ChoiceField(label="Access", choices=ApiKey.Scope.choices)
    reseller_id = forms.IntegerField(label="Reseller", required=False, widget=forms.Select)
    # Picked by name from a list that filters as one types (a <datalist>); the view looks
    # the name up among the companies the person sees.
    company = forms.CharField(
        label="Company",
        required=False,
        max_length=400,
        help_text="Only for a company key: type to search by name.",
        widget=forms.TextInput(attrs={"list": "company-options", "autocomplete": "off"}),
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
