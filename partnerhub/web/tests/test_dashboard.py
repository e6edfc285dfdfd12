"""The dashboard's numbers are the actor's tenant's, never another reseller's."""

from __future__ import annotations

from typing import Any

import pytest

from partnerhub.testing.factories import CompanyFactory, SaleItemFactory
from partnerhub.web.selectors import dashboard_for_actor

pytestmark = pytest.mark.django_db


def test_dashboard_counts_only_the_actors_reseller(personas: Any) -> None:
    CompanyFactory(reseller=personas.reseller_a, name="Custom Co")
    outsider_company = CompanyFactory(reseller=personas.reseller_b)
    SaleItemFactory(company=personas.company_a, reseller_fee_minor=100, gateway_fee_minor=10)
    SaleItemFactory(company=outsider_company, reseller_fee_minor=999, gateway_fee_minor=99)

    mine = dashboard_for_actor(personas.admin_a)
    assert (mine.companies_total, mine.plans_in_use) == (2, 1)
    assert {(b.label, b.companies) for b in mine.per_plan} == {("gold", 1), ("Custom (no plan)", 1)}
    assert [
        (t.currency, t.items, t.reseller_fee_minor, t.gateway_fee_minor) for t in mine.fee_totals
    ] == [("GBP", 1, 100, 10)]

    theirs = dashboard_for_actor(personas.admin_b)
    assert theirs.companies_total == 1
    assert [t.reseller_fee_minor for t in theirs.fee_totals] == [999]

    everyone = dashboard_for_actor(personas.platform)
    assert everyone.companies_total == 3
    one = dashboard_for_actor(personas.platform, reseller_id=personas.reseller_b.pk)
    assert one.companies_total == 1
