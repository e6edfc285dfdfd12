"""Issue 11, item 4: the hub's fee-table forms keep working as the catalog grows.

Every form with a fee table posts four fields per (currency, fee type) cell; with 20
currencies x 40 fee types that is 3,200 fields, which Django's default limit of 1,000
refused (400, TooManyFieldsSent). Each form is loaded and posted back as a browser posts
it (every named input, checked boxes, selected options)."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client

from partnerhub.audit.models import AuditEvent
from partnerhub.catalog.models import Currency, FeeType
from partnerhub.catalog.services import currency_create, fee_type_create
from partnerhub.companies.models import Company
from partnerhub.companies.selectors import company_serialize
from partnerhub.companies.services import company_update
from partnerhub.core.actor import platform_actor
from partnerhub.plans.models import Plan
from partnerhub.plans.selectors import plan_serialize

pytestmark = pytest.mark.django_db

ISO_CODES = [
    "AUD",
    "BRL",
    "CAD",
    "CHF",
    "CNY",
    "CZK",
    "DKK",
    "EUR",
    "GBP",
    "HKD",
    "HUF",
    "ILS",
    "INR",
    "JPY",
    "MXN",
    "NOK",
    "NZD",
    "PLN",
    "SEK",
    "SGD",
    "THB",
    "TRY",
    "USD",
    "ZAR",
]


@pytest.fixture
def large_catalog(personas: Any) -> None:
    """Exactly 20 currencies and 40 fee types in the catalog (topping up the seeded ones)."""
    operator = platform_actor("test-setup")
    existing = set(Currency.objects.values_list("code", flat=True))
    for code in [c for c in ISO_CODES if c not in existing][: 20 - len(existing)]:
        currency_create(actor=operator, code=code)
    for n in range(40 - FeeType.objects.count()):
        fee_type_create(actor=operator, key=f"kind-{n:02d}", name=f"Kind {n:02d}")
    assert (Currency.objects.count(), FeeType.objects.count()) == (20, 40)


class _FormFields(HTMLParser):
    """The fields the `index`-th `<form method="post">` of a page submits."""

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker = marker
        self.inside = False
        self.found = False
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self.found and self.marker in a:
            self.inside = self.found = True
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name and "disabled" not in a:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append((name, a.get("value", "on")))
            elif kind not in ("submit", "button", "file"):
                self.fields.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self._select, self._options = name, []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields.append((name, ""))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            name, value = self.fields[-1]
            self.fields[-1] = (name, value + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.inside:
            self.inside = False
        elif tag == "select" and self._select is not None:
            chosen = [v for v, sel in self._options if sel] or [v for v, _ in self._options[:1]]
            self.fields.extend((self._select, v) for v in chosen)
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def post_back(client: Client, url: str, marker: str = "data-plan-form") -> Any:
    page = client.get(url)
    assert page.status_code == 200
    parser = _FormFields(marker)
    parser.feed(page.content.decode())
    fields = parser.fields
    assert len(fields) > 3_200, len(fields)  # the catalog's fee cells are all there
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    return client.post(url, data)


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_plan_form_round_trips_at_20_currencies_by_40_fee_types(personas, large_catalog) -> None:
    before = plan_serialize(Plan.objects.get(pk=personas.plan_a.pk))

    response = post_back(_client(personas.admin_a_user), f"/plans/{personas.plan_a.pk}/")

    assert response.status_code == 302, response.content[:500]
    after = plan_serialize(Plan.objects.get(pk=personas.plan_a.pk))
    ignored = {"version", "updated_at"}
    assert {k: v for k, v in after.items() if k not in ignored} == {
        k: v for k, v in before.items() if k not in ignored
    }


def test_reseller_form_round_trips_at_20_currencies_by_40_fee_types(
    personas, large_catalog
) -> None:
    audit_before = AuditEvent.objects.count()

    response = post_back(_client(personas.platform_user), f"/resellers/{personas.reseller_a.pk}/")

    assert response.status_code == 302, response.content[:500]
    assert AuditEvent.objects.count() == audit_before


def test_company_form_round_trips_at_20_currencies_by_40_fee_types(personas, large_catalog) -> None:
    # Off plan fees, the company form shows its own fee table: the whole catalog.
    company_update(
        actor=personas.admin_a,
        company_id=personas.company_a.pk,
        changes={"use_plan_fees": False},
        fee_apply_mode="new",
    )
    before = company_serialize(Company.objects.get(pk=personas.company_a.pk))

    response = post_back(_client(personas.admin_a_user), f"/companies/{personas.company_a.pk}/")

    assert response.status_code == 302, response.content[:500]
    assert company_serialize(Company.objects.get(pk=personas.company_a.pk)) == before


def test_plan_create_form_posts_at_20_currencies_by_40_fee_types(personas, large_catalog) -> None:
    client = _client(personas.admin_a_user)
    page = client.get("/plans/new/")
    parser = _FormFields("data-plan-form")
    parser.feed(page.content.decode())
    data: dict[str, list[str]] = {}
    for name, value in parser.fields:
        data.setdefault(name, []).append(value)
    data.update(
        {
            "plan_type": ["usage_based"],
            "name": ["wide"],
            "display_name": ["Wide"],
            "billing_cycles": ["monthly"],
            "price_currencies": ["JPY"],  # "+ Add a currency" ticks its hidden box
            "price_JPY_monthly": ["10"],
            "fee_currencies": ["JPY"],
            "fee_JPY_kind-00_percent": ["2.5"],
        }
    )

    response = client.post("/plans/new/", data)

    assert response.status_code == 302, response.content.decode()[:2000]
    plan = Plan.objects.get(name="wide")
    assert plan.reseller_id == personas.reseller_a.pk
