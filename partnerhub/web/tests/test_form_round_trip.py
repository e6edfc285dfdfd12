"""Every hub form round-trips (STYLE.md, issue 10): load it, post it back unchanged as a
browser would, and nothing in the database changes — no row, no audit event, no version.

The cases load stored values a form does not offer (an archived default registration
plan, a company on an archived plan or on a plan its reseller can no longer assign, a
company's plan features, unlimited overrides, blended fees, a sale item's price), which is
where forms lose data silently. `test_every_hub_form_has_a_round_trip_case` enumerates the
hub's form classes, so a new form without a case (or a stated reason) fails the suite.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

import pytest
from django import forms
from django.apps import apps
from django.test import Client
from django.urls import reverse

from partnerhub.companies.models import Company
from partnerhub.companies.services import company_update
from partnerhub.resellers.models import Reseller
from partnerhub.resellers.services import reseller_update
from partnerhub.testing.formpost import form_data
from partnerhub.web.tests.hubworld import World, client_for, database_state, world

__all__ = ["world"]  # the fixture

pytestmark = pytest.mark.django_db

FORM_MODULES = [
    "partnerhub.accounts.forms",
    "partnerhub.catalog.forms",
    "partnerhub.companies.forms",
    "partnerhub.fees.forms",
    "partnerhub.plans.forms",
    "partnerhub.registration.forms",
    "partnerhub.resellers.forms",
]

# Forms that never show stored values, so there is nothing to carry back; each says why.
NOT_EDIT_FORMS = {
    "ApiKeyForm": "creates a new key; nothing stored is shown",
    "FeatureForm": "creates a catalog feature",
    "LimitForm": "creates a catalog limit",
    "FeeTypeForm": "creates a fee type",
    "CurrencyForm": "adds a currency",
    "CompanyCreateForm": "creates a company",
    "RegistrationForm": "public sign-up: creates a company (see test_registration_prg)",
    "RestoreForm": "an action: restore a deleted plan under a new name",
    "FeeApplyForm": "only the apply-mode choice of a fee change",
}


def assert_round_trip(client: Client, url: str, pick: dict[str, Any]) -> None:
    page = client.get(url)
    assert page.status_code == 200, page.content[:2000]
    data = form_data(page.content, **pick)
    before = database_state()
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:4000]
    after = database_state()
    changed = {
        table: {
            "before": [row for row in before[table] if row not in after[table]],
            "after": [row for row in after[table] if row not in before[table]],
        }
        for table in before
        if before[table] != after[table]
    }
    assert not changed, f"posting the form back unchanged wrote: {changed}"


PLAN_FORM = {"form": ("data-plan-form", None)}


def catalog_form(which: str) -> Callable[[World], tuple[Any, str, dict[str, Any]]]:
    def case(w: World) -> tuple[Any, str, dict[str, Any]]:
        html = client_for(w.personas.platform_user).get(reverse("catalog:index")).content
        index = next(i for i in range(20) if form_data(html, index=i).get("form") == which)
        return w.personas.platform_user, reverse("catalog:index"), {"index": index}

    return case


CASES: dict[str, dict[str, Callable[[World], tuple[Any, str, dict[str, Any]]]]] = {
    "PlanForm": {
        "rich plan": lambda w: (
            w.personas.admin_a_user,
            reverse("plans:edit", args=[w.rich.pk]),
            PLAN_FORM,
        ),
        "hidden plan, platform": lambda w: (
            w.personas.platform_user,
            reverse("plans:edit", args=[w.hidden.pk]),
            PLAN_FORM,
        ),
    },
    "CompanyForm": {
        "on a plan, with exclusion, direct feature and overrides": lambda w: (
            w.personas.admin_a_user,
            reverse("companies:edit", args=[w.on_plan.pk]),
            PLAN_FORM,
        ),
        "on an archived plan": lambda w: (
            w.personas.admin_a_user,
            reverse("companies:edit", args=[w.on_archived.pk]),
            PLAN_FORM,
        ),
        "custom with own fees and limits": lambda w: (
            w.personas.admin_a_user,
            reverse("companies:edit", args=[w.custom.pk]),
            PLAN_FORM,
        ),
        "persona company on a plan": lambda w: (
            w.personas.platform_user,
            reverse("companies:edit", args=[w.personas.company_a.pk]),
            PLAN_FORM,
        ),
    },
    "ResellerForm": {
        "platform, archived default plan": lambda w: (
            w.personas.platform_user,
            reverse("resellers:edit", args=[w.personas.reseller_a.pk]),
            PLAN_FORM,
        ),
        "reseller admin, archived default plan": lambda w: (
            w.personas.admin_a_user,
            reverse("resellers:edit", args=[w.personas.reseller_a.pk]),
            PLAN_FORM,
        ),
    },
    "FeatureEditForm": {
        "feature": lambda w: (
            w.personas.platform_user,
            reverse("catalog:feature_edit", args=[w.rich.features.get(key="seating").pk]),
            {"form": ("class", "card-body")},
        ),
    },
    "GatewayFeesForm": {"gateway fees": catalog_form("gateway")},
    "TaxForm": {"GST rate": catalog_form("tax")},
    "SaleItemForm": {
        "sale item": lambda w: (
            w.personas.admin_a_user,
            reverse("fees:sale_item_edit", args=[w.item.pk]),
            {"form": ("class", "card")},
        ),
    },
}


def _cases() -> list[Any]:
    return [
        pytest.param(form, label, id=f"{form}: {label}")
        for form, labels in CASES.items()
        for label in labels
    ]


@pytest.mark.parametrize("form_name,label", _cases())
def test_posting_a_hub_form_back_unchanged_changes_nothing(
    world: World, form_name: str, label: str
) -> None:
    user, url, pick = CASES[form_name][label](world)
    assert_round_trip(client_for(user), url, pick)


def test_every_hub_form_has_a_round_trip_case() -> None:
    found = set()
    for module_name in FORM_MODULES:
        module = importlib.import_module(module_name)
        for name, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, forms.Form) and obj.__module__ == module_name:
                found.add(name)
    missing = found - set(CASES) - set(NOT_EDIT_FORMS)
    assert not missing, f"hub forms without a round-trip case: {sorted(missing)}"
    assert not (set(CASES) | set(NOT_EDIT_FORMS)) - found, "a case names a form that is gone"


def test_form_modules_list_every_app_with_forms() -> None:
    """A new app's forms.py must join FORM_MODULES (and so the round-trip check)."""
    with_forms = set()
    for config in apps.get_app_configs():
        if config.name.startswith("partnerhub."):
            try:
                importlib.import_module(f"{config.name}.forms")
            except ModuleNotFoundError:
                continue
            with_forms.add(f"{config.name}.forms")
    assert with_forms == set(FORM_MODULES)


def test_archived_default_registration_plan_is_shown_marked(world: World) -> None:
    page = client_for(world.personas.admin_a_user).get(
        reverse("resellers:edit", args=[world.personas.reseller_a.pk])
    )
    assert "bronze (archived)" in page.content.decode()
    assert form_data(page.content, ("data-plan-form", None))["default_registration_plan_id"] == str(
        world.archived.pk
    )
    assert Reseller.objects.get(pk=world.personas.reseller_a.pk).default_registration_plan_id == (
        world.archived.pk
    )


def test_a_company_keeps_features_its_reseller_no_longer_enables_through_a_save(
    world: World,
) -> None:
    """The form offers only the reseller's enabled features; a direct feature and an
    exclusion of features the platform took off the reseller are carried through."""
    p = world.personas
    company_update(
        actor=p.admin_a,
        company_id=world.on_plan.pk,
        changes={"direct_features": ["api_access"], "excluded_features": ["vouchers"]},
    )
    reseller_update(
        actor=p.platform, reseller_id=p.reseller_a.pk, changes={"features": ["plans", "seating"]}
    )
    url = reverse("companies:edit", args=[world.on_plan.pk])
    assert_round_trip(client_for(p.admin_a_user), url, {"form": ("data-plan-form", None)})

    # A real edit in the same form keeps them too.
    client = client_for(p.admin_a_user)
    data = form_data(client.get(url).content, ("data-plan-form", None))
    assert client.post(url, {**data, "name": "Renamed"}).status_code == 302
    company = Company.objects.get(pk=world.on_plan.pk)
    assert company.name == "Renamed"
    assert {f.key for f in company.direct_features.all()} == {"api_access"}
    assert {f.key for f in company.excluded_features.all()} == {"vouchers"}
