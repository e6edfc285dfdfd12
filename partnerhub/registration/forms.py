from django import forms


class RegistrationForm(forms.Form):
    company_name = forms.CharField(label="Company name", max_length=200)
    contact_email = forms.EmailField(label="Contact email")
