"""The hub's usage screens: bars on the company page, the dashboard's nearest-to-limits list."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from partnerhub.companies.models import Company
from partnerhub.testing.factories import CompanyFactory
from partnerhub.usage.selectors import companies_nearest_limits
from partnerhub.usage.services import usage_consume, usage_gauge_set

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _use(actor: Any, company: Company, quantity: int, limit: str = "messages") -> None:
    usage_consume(actor=actor, company_id=company.pk, limit_key=limit, quantity=quantity)


def test_company_page_shows_a_bar_per_limit_with_its_level(personas: Any) -> None:
    company = personas.company_a
    Company.objects.filter(pk=company.pk).update(
        limit_overrides={"messages": 10, "whatsapp_conversations": 10}
    )
    _use(personas.admin_a, company, 8)  # 80 %: amber
    _use(personas.admin_a, company, 3, "whatsapp_conversations")

    html = _client(personas.viewer_a_user).get(reverse("companies:edit", args=[company.pk]))

    body = html.content.decode()
    assert html.status_code == 200
    assert 'data-limit="messages" data-level="warn"' in body
    assert 'data-limit="whatsapp_conversations" data-level="ok"' in body
    assert "8 of 10" in body
    assert "Cap: unlimited" in body
    assert 'name="billing_cycle"' in body


def test_dashboard_lists_companies_nearest_to_their_limits(personas: Any) -> None:
    a, admin = personas.company_a, personas.admin_a
    Company.objects.filter(pk=a.pk).update(limit_overrides={"messages": 10})
    near = CompanyFactory(reseller=personas.reseller_a, name="Near Co")
    near.limit_overrides = {"messages": 100}
    near.save()
    outsider = CompanyFactory(
        reseller=personas.reseller_b, name="Outsider Co", limit_overrides={"messages": 10000}
    )
    _use(admin, a, 10)
    _use(admin, near, 85)
    usage_gauge_set(actor=admin, company_id=a.pk, limit_key="team_members", value=1)
    usage_consume(
        actor=personas.platform, company_id=outsider.pk, limit_key="messages", quantity=9999
    )

    rows = companies_nearest_limits(admin)
    page = _client(personas.admin_a_user).get("/").content.decode()

    assert [(r.company_name, r.limit_key, r.percent, r.level) for r in rows] == [
        ("Acme Events", "messages", 100, "warn"),
        ("Near Co", "messages", 85, "warn"),
        ("Acme Events", "team_members", 20, "ok"),
    ]
    assert "Near Co" in page
    assert "Outsider Co" not in page
    assert [r.company_name for r in companies_nearest_limits(personas.admin_b)] == ["Outsider Co"]


@pytest.mark.parametrize("companies", [2, 12])
def test_nearest_limits_costs_a_constant_number_of_queries(personas: Any, companies: int) -> None:
    for n in range(companies):
        company = CompanyFactory(reseller=personas.reseller_a, limit_overrides={"messages": 50})
        _use(personas.admin_a, company, n + 1)

    with CaptureQueriesContext(connection) as queries:
        rows = companies_nearest_limits(personas.admin_a)

    assert len(rows) == min(companies, 10)
    assert len(queries) == 2, "\n".join(q["sql"] for q in queries.captured_queries)
