"""A plan delete over the API: its companies read the same before and after (SPEC §4),
though they share the deleted plan's frozen configuration (copy-on-write)."""

from __future__ import annotations

from typing import Any

import pytest

from partnerhub.api.tests.conftest import ApiClient, Keys
from partnerhub.companies.models import Company
from partnerhub.plans.tests.test_plan_delete import SHOWN, _plan, _shown, _varied_companies

pytestmark = pytest.mark.django_db


def test_the_api_shows_the_same_company_and_entitlements_after_delete(
    personas: Any, api: ApiClient, keys: Keys
) -> None:
    plan = _plan(personas, "doomed")
    companies = _varied_companies(personas, plan)

    def read(company: Company) -> tuple[dict[str, Any], dict[str, Any]]:
        shown = api.get(f"/api/v1/companies/{company.pk}", keys.admin_a).json()
        got = api.get(f"/api/v1/companies/{company.pk}/entitlements", keys.admin_a).json()
        shown = {k: shown[k] for k in SHOWN if k not in ("plan_id", "deviates_from_plan")}
        return shown, {
            "features": sorted(f["key"] for f in got["features"]),
            "limits": {k: v["value"] for k, v in got["limits"].items()},
            "fees": {k: got["fees"][k] for k in ("schedule", "blended")},
        }

    before = {c.pk: read(c)[1] for c in companies}
    response = api.delete(f"/api/v1/plans/{plan.pk}", keys.admin_a)
    assert response.status_code == 200, response.content
    assert not Company.objects.filter(plan=plan).exists()

    for company in companies:
        shown, entitlements = read(company)
        assert entitlements == before[company.pk], company.name
        assert shown == {k: v for k, v in _shown(company.pk).items() if k in shown}
        assert shown["excluded_features"] == [] and shown["has_own_fees"]
