from typing import Any

from django import forms

from partnerhub.companies.models import COMPANY_NAME_MAX_LENGTH


class RegistrationForm(forms.Form):
    company_name = forms.CharField(label="Company name", max_length=COMPANY_NAME_MAX_LENGTH)
    contact_email = forms.EmailField(label="Contact email")
    plan_id = forms.TypedChoiceField(
        label="Plan", required=False, coerce=int, empty_value=None, widget=forms.RadioSelect
    )

    def __init__(self, *args: Any, plan_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if plan_choices:
            self.fields["plan_id"].choices = [("", "Let us choose for you"), *plan_choices]  # type: ignore[attr-defined]
        else:
            del self.fields["plan_id"]
