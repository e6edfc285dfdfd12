"""Exact query counts for every list endpoint, generated from the OpenAPI document
(STYLE.md): each is called with two rows of everything it lists (an N+1 shows as a
changed count), and `testing.queries.assert_query_count` prints the SQL when the count
moves.

A list endpoint is a GET whose answer is a page (`items`) or an array; a new one fails
`test_every_list_endpoint_is_pinned` until it has its count below.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from partnerhub.api.tests import test_tenancy_matrix as tenancy
from partnerhub.api.tests.test_tenancy_matrix import ID_KINDS, OPERATIONS, SCHEMA, _short
from partnerhub.core.actor import platform_actor
from partnerhub.fees.jobs import recalculation_enqueue
from partnerhub.testing.factories import CompanyFactory, PlanFactory, SaleItemFactory
from partnerhub.testing.queries import assert_query_count
from partnerhub.webhooks.events import event_emit
from partnerhub.webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db

worlds = tenancy.worlds  # one of everything per reseller; `more` adds a second to A

# Queries per call by reseller A's admin key, the key lookup included.
LIST_QUERIES = {
    "catalog_api_list_features": 3,
    "catalog_api_list_limits": 3,
    "catalog_api_list_fee_types": 3,
    "catalog_api_list_currencies": 3,
    "catalog_api_list_gateway_fees": 2,
    "resellers_api_list_resellers": 5,
    "plans_api_list_plans": 12,
    "companies_api_list_companies": 7,
    "fees_api_list_sale_items": 4,
    "fees_api_list_jobs": 3,
    "registration_api_public_plans": 7,
    "audit_api_list_audit_events": 3,
    "accounts_api_list_api_keys": 3,
    "api_webhooks_list_webhook_endpoints": 3,
    "api_webhooks_list_webhook_deliveries": 3,
    "api_webhooks_list_events": 3,
    # Recomputed on read: the company, its statements, its subscriptions (history, plans
    # with prices), its cutoff, one sales aggregate (no GST rate, fee type or stored
    # draft's lines to read here).
    "statements_api_list_company_statements": 7,
    "statements_api_list_reseller_statements": 9,
}


def _is_list(op: dict[str, Any]) -> bool:
    schema = op["responses"][200]["content"]["application/json"]["schema"]
    ref = schema.get("$ref")
    body = SCHEMA["components"]["schemas"][ref.split("/")[-1]] if ref else schema
    return body.get("type") == "array" or "items" in body.get("properties", {})


LISTS = [(path, op) for method, path, op in OPERATIONS if method == "get" and _is_list(op)]


def test_every_list_endpoint_is_pinned() -> None:
    listed = {_short(op["operationId"]) for _path, op in LISTS}
    assert listed == set(LIST_QUERIES), listed ^ set(LIST_QUERIES)
    assert {"audit_api_list_audit_events", "fees_api_list_jobs"} <= listed


@pytest.fixture
def more(personas: Any, worlds: Any) -> None:
    """A second row of each kind in reseller A."""
    operator = platform_actor("test-setup")
    plan = PlanFactory(reseller=personas.reseller_a, name="second-a")
    company = CompanyFactory(reseller=personas.reseller_a, plan=plan, name="Second A")
    SaleItemFactory(company=personas.company_a)
    SaleItemFactory(company=company)
    recalculation_enqueue(
        actor=operator, reseller_id=personas.reseller_a.pk, plan_id=plan.pk, reason="second"
    )
    endpoint_create(
        actor=operator, reseller_id=personas.reseller_a.pk, url="https://hooks.example.com/2"
    )
    event_emit(type="webhook.test", reseller_id=personas.reseller_a.pk, data={})


@pytest.mark.parametrize(("path", "op"), [pytest.param(p, o, id=p) for p, o in LISTS])
def test_a_list_endpoint_makes_a_fixed_number_of_queries(api, keys, worlds, more, path, op) -> None:
    url = path
    for param in re.findall(r"{(\w+)}", path):
        value = "northwind" if param == "reseller_slug" else worlds["a"][ID_KINDS[param]]
        url = url.replace(f"{{{param}}}", str(value))
    api.get("/api/v1/ping", keys.admin_a)  # the key's first use also stamps last_used_at
    expected = LIST_QUERIES[_short(op["operationId"])]

    with assert_query_count(expected):
        response = api.get(url, None if "{reseller_slug}" in path else keys.admin_a)

    assert response.status_code == 200, response.content
