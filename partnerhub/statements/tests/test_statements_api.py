"""Statements over the API (SPEC §15): company list, detail with lines, reseller month,
CSV of each, bad input, and tenancy (a foreign id is 404, CSV included)."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from django.utils import timezone

from partnerhub.api.tests.conftest import ApiClient, Keys, assert_error
from partnerhub.companies.models import SubscriptionChange
from partnerhub.plans.models import PlanPrice
from partnerhub.statements.models import Statement
from partnerhub.statements.tests.helpers import at, item_of, sell
from partnerhub.testing.personas import Personas

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(personas: Personas) -> Personas:
    """Acme (reseller A) on Gold at GBP 49.00 a month, with a sale this period."""
    PlanPrice.objects.filter(plan=personas.plan_a).delete()
    PlanPrice.objects.create(
        plan=personas.plan_a, currency_id="GBP", billing_cycle="monthly", amount_minor=4_900
    )
    company = personas.company_a
    company.billing_currency = "GBP"
    company.save()
    SubscriptionChange.objects.create(
        company=company,
        effective_at=company.created_at,
        plan=personas.plan_a,
        billing_cycle="monthly",
        billing_currency="GBP",
    )
    sell(item_of(company, reseller_fee=100, gateway_fee=25), 2, timezone.now())
    return personas


def test_company_statements_list_the_current_draft(
    api: ApiClient, keys: Keys, acme: Personas
) -> None:
    response = api.get(f"/api/v1/companies/{acme.company_a.pk}/statements", keys.admin_a)
    assert response.status_code == 200, response.content
    (draft,) = response.json()["items"]
    assert draft["status"] == "draft" and draft["kind"] == "company"
    assert draft["currency"] == "GBP" and draft["number"] is None
    assert draft["net_minor"] == 4_900 + 200 + 50
    assert draft["gross_minor"] == (
        draft["platform_share_minor"]
        + draft["reseller_share_minor"]
        + draft["gst_minor"]
        + draft["gateway_fees_minor"]
    )
    assert "lines" not in draft


def test_statement_detail_has_its_lines_and_csv_a_row_per_line(
    api: ApiClient, keys: Keys, acme: Personas
) -> None:
    listed = api.get(f"/api/v1/companies/{acme.company_a.pk}/statements", keys.company_a).json()
    statement_id = listed["items"][0]["id"]
    detail = api.get(f"/api/v1/statements/{statement_id}", keys.company_a).json()
    assert [line["kind"] for line in detail["lines"]] == [
        "subscription",
        "reseller_fees",
        "gateway_fees",
    ]
    assert sum(line["gross_minor"] for line in detail["lines"]) == detail["gross_minor"]
    response = api.get(f"/api/v1/statements/{statement_id}", keys.admin_a, {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["line_kind"] for row in rows] == ["subscription", "reseller_fees", "gateway_fees"]
    assert rows[0]["net"] == "49.00"


def test_reseller_statements_of_a_month(api: ApiClient, keys: Keys, acme: Personas) -> None:
    month = f"{timezone.now():%Y-%m}"
    path = f"/api/v1/resellers/{acme.reseller_a.pk}/statements"
    response = api.get(path, keys.viewer_a, {"month": month})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["month"] == month
    for statement in body["items"]:
        assert statement["kind"] == "reseller"
        assert sum(line["gross_minor"] for line in statement["lines"]) == statement["gross_minor"]
    as_csv = api.get(path, keys.platform, {"month": month, "format": "csv"})
    assert as_csv.status_code == 200
    assert as_csv.content.decode().startswith("statement_id,")


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "november", "2026-11-01"])
def test_a_bad_month_is_a_clear_422(api: ApiClient, keys: Keys, acme: Personas, month: str) -> None:
    response = api.get(
        f"/api/v1/resellers/{acme.reseller_a.pk}/statements", keys.admin_a, {"month": month}
    )
    assert_error(response, 422)


def test_a_bad_format_is_a_422(api: ApiClient, keys: Keys, acme: Personas) -> None:
    response = api.get(
        f"/api/v1/companies/{acme.company_a.pk}/statements", keys.admin_a, {"format": "xml"}
    )
    assert_error(response, 422)


def test_another_tenant_gets_404_everywhere_csv_included(
    api: ApiClient, keys: Keys, acme: Personas
) -> None:
    company_path = f"/api/v1/companies/{acme.company_a.pk}/statements"
    statement_id = api.get(company_path, keys.admin_a).json()["items"][0]["id"]
    for path, params in [
        (company_path, {}),
        (company_path, {"format": "csv"}),
        (f"/api/v1/statements/{statement_id}", {}),
        (f"/api/v1/statements/{statement_id}", {"format": "csv"}),
        (f"/api/v1/resellers/{acme.reseller_a.pk}/statements", {}),
        (f"/api/v1/resellers/{acme.reseller_a.pk}/statements", {"format": "csv"}),
    ]:
        assert_error(api.get(path, keys.admin_b, params), 404)
    # A company key reads its own company's statements, never its reseller's.
    assert_error(api.get(f"/api/v1/resellers/{acme.reseller_a.pk}/statements", keys.company_a), 404)
    assert api.get(company_path, keys.company_a).status_code == 200


def test_a_company_key_cannot_read_the_reseller_statement_by_id(
    api: ApiClient, keys: Keys, acme: Personas
) -> None:
    draft = api.get(f"/api/v1/companies/{acme.company_a.pk}/statements", keys.admin_a).json()
    last_day = date.fromisoformat(draft["items"][0]["period_end"]) - timedelta(days=1)
    month = f"{last_day:%Y-%m}"
    api.get(f"/api/v1/resellers/{acme.reseller_a.pk}/statements", keys.admin_a, {"month": month})
    reseller_statement = Statement.objects.filter(kind="reseller").first()
    assert reseller_statement is not None
    assert_error(api.get(f"/api/v1/statements/{reseller_statement.pk}", keys.company_a), 404)
    assert api.get(f"/api/v1/statements/{reseller_statement.pk}", keys.viewer_a).status_code == 200


def test_closed_statements_are_listed_with_their_numbers(
    api: ApiClient, keys: Keys, acme: Personas
) -> None:
    from partnerhub.statements.services import statements_close_companies

    company = acme.company_a
    # A company billed from last year: every past period closes.
    type(company).objects.filter(pk=company.pk).update(
        created_at=at(date(2026, 1, 1)), billing_anchor=date(2026, 1, 1)
    )
    SubscriptionChange.objects.filter(company=company).update(effective_at=at(date(2026, 1, 1)))
    closed = statements_close_companies(company_ids=[company.pk], cutoff=timezone.now())
    assert closed >= 1
    items = api.get(f"/api/v1/companies/{company.pk}/statements", keys.admin_a).json()["items"]
    numbers = [s["number"] for s in items if s["status"] == "closed"]
    assert sorted(numbers) == list(range(1, closed + 1))
    assert items[0]["status"] == "draft"
