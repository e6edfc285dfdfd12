"""The usage screens in Chromium: bars, terms on the company form (round trip), dashboard."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from partnerhub.audit.models import AuditEvent
from partnerhub.companies.models import Company
from partnerhub.plans.models import PlanPrice
from partnerhub.usage.services import usage_consume, usage_events_record
from partnerhub.web.tests.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _prices(plan: Any, cycles: list[str], currencies: list[str]) -> None:
    plan.billing_cycles = cycles
    plan.save()
    for code in currencies:
        for cycle in cycles:
            PlanPrice.objects.update_or_create(
                plan=plan, currency_id=code, billing_cycle=cycle, defaults={"amount_minor": 1}
            )


def test_usage_bars_turn_amber_from_80_and_red_over_100(hub: Any, personas: Any) -> None:
    company = personas.company_a
    Company.objects.filter(pk=company.pk).update(
        limit_overrides={"messages": 10, "whatsapp_conversations": 10}
    )
    usage_consume(actor=personas.admin_a, company_id=company.pk, limit_key="messages", quantity=8)
    usage_events_record(
        actor=personas.admin_a,
        events=[
            {
                "id": "wa-1",
                "company_id": company.pk,
                "limit": "whatsapp_conversations",
                "quantity": 11,
                "timestamp": timezone.now() - timedelta(seconds=5),
            }
        ],
    )
    login(hub, "admin-a")
    hub.goto(f"/companies/{company.pk}/")

    bars = hub.get_by_test_id("usage-bars")
    expect(bars).to_contain_text("Usage period")
    messages = bars.locator('[data-limit="messages"] .progress-bar')
    whatsapp = bars.locator('[data-limit="whatsapp_conversations"] .progress-bar')
    expect(messages).to_have_class("progress-bar warn")
    expect(whatsapp).to_have_class("progress-bar over")
    amber = messages.evaluate("el => getComputedStyle(el).backgroundColor")
    red = whatsapp.evaluate("el => getComputedStyle(el).backgroundColor")
    assert amber == "rgb(217, 142, 4)"
    assert red == "rgb(200, 49, 47)"
    expect(bars.locator('[data-limit="whatsapp_conversations"]')).to_contain_text(
        "11 of 10 · over the limit"
    )

    hub.goto("/")
    near = hub.get_by_test_id("near-limits")
    expect(near.locator("tbody tr").first).to_contain_text("Acme Events")
    expect(near.locator("tbody tr").first).to_contain_text("WhatsApp Conversations")


def test_company_form_edits_terms_and_round_trips_unchanged(hub: Any, personas: Any) -> None:
    company, plan = personas.company_a, personas.plan_a
    _prices(plan, ["monthly", "yearly"], ["GBP", "USD"])
    Company.objects.filter(pk=company.pk).update(
        billing_cycle="monthly", billing_currency="GBP", billing_anchor=date(2026, 1, 31)
    )
    login(hub, "admin-a")
    hub.goto(f"/companies/{company.pk}/")

    # Posted back unchanged: the terms stay and no change is audited.
    before = AuditEvent.objects.count()
    hub.get_by_role("button", name="Save changes").click()
    expect(hub.get_by_text('Saved "Acme Events".')).to_be_visible()
    company.refresh_from_db()
    assert (company.billing_cycle, company.billing_currency) == ("monthly", "GBP")
    assert company.billing_anchor == date(2026, 1, 31)
    assert all(not e.changes for e in AuditEvent.objects.order_by("id")[before:])

    terms = hub.get_by_test_id("subscription-terms")
    expect(terms.get_by_label("Billing cycle").locator("option")).to_have_text(
        ["Monthly", "Yearly"]
    )
    terms.get_by_label("Billing cycle").select_option("yearly")
    terms.get_by_label("Billing currency").select_option("USD")
    terms.get_by_label("Billing anchor").fill("2026-02-15")
    hub.get_by_role("button", name="Save changes").click()
    expect(hub.get_by_text('Saved "Acme Events".')).to_be_visible()

    company.refresh_from_db()
    assert (company.billing_cycle, company.billing_currency) == ("yearly", "USD")
    assert company.billing_anchor == date(2026, 2, 15)
