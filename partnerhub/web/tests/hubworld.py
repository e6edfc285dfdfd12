"""A reseller's world using every part of the hub's forms, and a snapshot of the database:
shared by the form tests (round trips, money fields, plan dropdowns)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.test import Client

from partnerhub.catalog.services import tax_set
from partnerhub.companies.models import Company
from partnerhub.companies.services import company_create, company_update
from partnerhub.fees.models import SaleItem
from partnerhub.fees.services import sale_item_create
from partnerhub.fees.tests.factories import set_gateway_fee
from partnerhub.plans.models import Plan
from partnerhub.plans.services import plan_archive, plan_create
from partnerhub.resellers.services import reseller_update
from partnerhub.testing.personas import Personas


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rich_plan_data(name: str, **extra: Any) -> dict[str, Any]:
    """A plan using every part of the form: two currencies, three cycles, GST, fees with
    min/max in two currencies (one blended), limits with an unlimited one, features."""
    prices = [
        {"currency": c, "billing_cycle": cycle, "amount_minor": amount}
        for c, amounts in (("INR", (99950, 269900, 999900)), ("JPY", (1500, 4000, 15000)))
        for cycle, amount in zip(("monthly", "quarterly", "yearly"), amounts, strict=True)
    ]
    return {
        "plan_type": "usage_based",
        "name": name,
        "display_name": name.title(),
        "description": "Line one\nline two",
        "billing_cycles": ["monthly", "quarterly", "yearly"],
        "prices": prices,
        "gst_enabled": True,
        "limits": {
            "messages": 10000,
            "whatsapp_conversations": 0,
            "team_members": 5,
            "event_timeslots": None,
        },
        "features": ["plans", "seating", "vouchers"],
        "fees": [
            {
                "currency": "GBP",
                "fee_type": "ticket",
                "percent_bps": 275,
                "fixed_minor": 30,
                "min_minor": 50,
                "max_minor": 1000,
            },
            {
                "currency": "JPY",
                "fee_type": "donation",
                "percent_bps": 1,
                "fixed_minor": 5,
                "min_minor": None,
                "max_minor": None,
            },
        ],
        "blended": {"GBP": True, "JPY": False},
        **extra,
    }


@dataclass
class World:
    personas: Personas
    rich: Plan
    archived: Plan
    hidden: Plan
    on_plan: Company
    on_archived: Company
    custom: Company
    item: SaleItem


@pytest.fixture
def world(personas: Personas) -> World:
    p = personas
    a = p.reseller_a.pk
    rich = plan_create(actor=p.admin_a, reseller_id=a, data=rich_plan_data("silver"))
    archived = plan_create(actor=p.admin_a, reseller_id=a, data=rich_plan_data("bronze"))
    hidden = plan_create(
        actor=p.admin_a, reseller_id=a, data=rich_plan_data("private", visible=False)
    )
    on_plan = company_create(actor=p.admin_a, reseller_id=a, name="On plan", plan_id=rich.pk)
    company_update(
        actor=p.admin_a,
        company_id=on_plan.pk,
        changes={
            "excluded_features": ["vouchers"],
            "direct_features": ["api_access"],
            "limit_overrides": {"team_members": 8, "messages": None},
        },
    )
    on_archived = company_create(
        actor=p.admin_a, reseller_id=a, name="On archived", plan_id=archived.pk
    )
    reseller_update(
        actor=p.platform, reseller_id=a, changes={"default_registration_plan_id": archived.pk}
    )
    plan_archive(actor=p.admin_a, plan_id=archived.pk)
    custom = company_create(
        actor=p.admin_a,
        reseller_id=a,
        name="Custom Co",
        direct_features=["seating"],
        own_limits={"messages": 50},
        fees=rich_plan_data("x")["fees"],
        blended={"GBP": False, "JPY": True},
    )
    set_gateway_fee("GBP", percent_bps=150, fixed_minor=20)
    set_gateway_fee("JPY", percent_bps=325, fixed_minor=0)
    tax_set(actor=p.platform, gst_rate_bps=1875)
    item = sale_item_create(
        actor=p.admin_a,
        company_id=custom.pk,
        data={
            "name": "Adult GA",
            "external_ref": "tt-9",
            "currency": "GBP",
            "fee_type": "ticket",
            "price_minor": 1999,
        },
    )
    return World(p, rich, archived, hidden, on_plan, on_archived, custom, item)


def database_state() -> dict[str, list[dict[str, Any]]]:
    """Every row of every Partnerhub table (and the m2m tables): any write shows here."""
    state: dict[str, list[dict[str, Any]]] = {}
    for model in apps.get_models(include_auto_created=True):
        if not model.__module__.startswith("partnerhub"):
            continue
        state[model._meta.db_table] = list(model.objects.order_by("pk").values())
    return state
