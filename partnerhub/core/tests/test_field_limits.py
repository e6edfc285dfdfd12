"""One limit per field (issue 12): the model column, the hub form and the API schema of a
field accept the same length, so no channel takes a value another refuses (or the
database cuts). The channels read one constant each; this catches a literal coming back."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms
from django.db import models
from pydantic import BaseModel

from partnerhub.accounts.api import ApiKeyIn
from partnerhub.accounts.forms import ApiKeyForm
from partnerhub.accounts.models import ApiKey
from partnerhub.api.webhooks import EndpointIn, EndpointPatch
from partnerhub.audit.api import AuditFilters
from partnerhub.audit.models import AuditEvent
from partnerhub.catalog.api import LimitIn
from partnerhub.catalog.forms import CurrencyForm, LimitForm
from partnerhub.catalog.models import Currency, Limit
from partnerhub.companies.api import CompanyCreateIn, CompanyPatchIn
from partnerhub.companies.forms import CompanyCreateForm, CompanyForm
from partnerhub.companies.models import Company
from partnerhub.fees.api import SaleItemCreateIn, SaleItemPatchIn
from partnerhub.fees.forms import SaleItemForm
from partnerhub.fees.models import SaleItem
from partnerhub.registration.api import RegistrationIn
from partnerhub.registration.forms import RegistrationForm
from partnerhub.resellers.api import ResellerCreateIn, ResellerPatchIn
from partnerhub.resellers.forms import ResellerForm
from partnerhub.resellers.models import Reseller
from partnerhub.web.webhooks import EndpointForm
from partnerhub.webhooks.models import Endpoint

Form = type[forms.Form]
Schema = type[BaseModel]

# (model, column): [(form, field) …], [(API schema, property) …]
LIMITS: list[tuple[type[models.Model], str, list[tuple[Form, str]], list[tuple[Schema, str]]]] = [
    (
        Company,
        "name",
        [(CompanyForm, "name"), (CompanyCreateForm, "name"), (RegistrationForm, "company_name")],
        [(CompanyCreateIn, "name"), (CompanyPatchIn, "name"), (RegistrationIn, "company_name")],
    ),
    (
        Company,
        "contact_email",
        [],
        [(CompanyCreateIn, "contact_email"), (RegistrationIn, "contact_email")],
    ),
    (
        Reseller,
        "name",
        [(ResellerForm, "name")],
        [(ResellerCreateIn, "name"), (ResellerPatchIn, "name")],
    ),
    (
        Reseller,
        "slug",
        [(ResellerForm, "slug")],
        [(ResellerCreateIn, "slug"), (ResellerPatchIn, "slug")],
    ),
    (
        SaleItem,
        "name",
        [(SaleItemForm, "name")],
        [(SaleItemCreateIn, "name"), (SaleItemPatchIn, "name")],
    ),
    (
        SaleItem,
        "external_ref",
        [(SaleItemForm, "external_ref")],
        [(SaleItemCreateIn, "external_ref"), (SaleItemPatchIn, "external_ref")],
    ),
    (Endpoint, "url", [(EndpointForm, "url")], [(EndpointIn, "url"), (EndpointPatch, "url")]),
    (
        Endpoint,
        "description",
        [(EndpointForm, "description")],
        [(EndpointIn, "description"), (EndpointPatch, "description")],
    ),
    (ApiKey, "name", [(ApiKeyForm, "name")], [(ApiKeyIn, "name")]),
    (Limit, "unit", [(LimitForm, "unit")], [(LimitIn, "unit")]),
    (Currency, "code", [(CurrencyForm, "code")], []),
    (AuditEvent, "object_type", [], [(AuditFilters, "object_type")]),
    (AuditEvent, "actor_label", [], [(AuditFilters, "actor_label")]),
]


def _max_length(schema: dict[str, Any]) -> int | None:
    """maxLength of a property, through `anyOf` (optional) and `$ref`-free schemas."""
    if "maxLength" in schema:
        return int(schema["maxLength"])
    for option in schema.get("anyOf", []):
        if (found := _max_length(option)) is not None:
            return found
    return None


@pytest.mark.parametrize(
    ("model", "column", "form_fields", "schema_fields"),
    LIMITS,
    ids=[f"{model.__name__}.{column}" for model, column, _, _ in LIMITS],
)
def test_every_channel_accepts_the_columns_length(
    model: type[models.Model],
    column: str,
    form_fields: list[tuple[Form, str]],
    schema_fields: list[tuple[Schema, str]],
) -> None:
    limit = model._meta.get_field(column).max_length
    assert limit is not None
    for form, field in form_fields:
        assert form.base_fields[field].max_length == limit, (form.__name__, field)
    for schema, prop in schema_fields:
        properties = schema.model_json_schema()["properties"]
        assert _max_length(properties[prop]) == limit, (schema.__name__, prop)
