"""Issue 11 holes on the API: strict types (7), Content-Type (8), unsafe methods on unknown
paths (9), company-key writes (10), scoped API-key lookups (5), documented statuses (11)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from partnerhub.accounts.models import ApiKey
from partnerhub.accounts.services import api_key_create
from partnerhub.api.tests.conftest import assert_error
from partnerhub.api.urls import api as ninja_api
from partnerhub.audit.models import AuditEvent
from partnerhub.core.actor import platform_actor
from partnerhub.plans.models import Plan

pytestmark = pytest.mark.django_db

PLAN = {
    "plan_type": "usage_based",
    "name": "silver",
    "display_name": "Silver",
    "billing_cycles": ["monthly"],
    "prices": [{"currency": "GBP", "billing_cycle": "monthly", "amount_minor": 100}],
}


# 7. Strict types -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("gst_enabled", 0),  # 0 is not a boolean
        ("gst_enabled", "true"),
        ("revenue_share_bps", True),  # true is not an integer
        ("revenue_share_bps", "12"),  # "12" is not a number
        ("display_name", 12),  # 12 is not text
    ],
)
def test_loosely_typed_values_are_422_not_coerced(api, keys, personas, field, value) -> None:
    body = {**PLAN, "plan_type": "revenue_sharing", "revenue_share_bps": 100, field: value}
    response = api.post("/api/v1/plans", keys.admin_a, body)

    error = assert_error(response, 422, "validation_error")
    assert field in error["details"]
    assert not Plan.objects.filter(name="silver").exists()


def test_a_boolean_is_not_an_id(api, keys, personas) -> None:
    body = {"company_id": True, "currency": "GBP", "fee_type": "ticket", "price_minor": 1000}
    error = assert_error(api.post("/api/v1/fees/quote", keys.admin_a, body), 422)
    assert "company_id" in error["details"]


def test_a_numeric_string_is_not_an_amount(api, keys, personas) -> None:
    body = {
        "company_id": personas.company_a.pk,
        "currency": "GBP",
        "fee_type": "ticket",
        "price_minor": "1000",
    }
    error = assert_error(api.post("/api/v1/fees/quote", keys.admin_a, body), 422)
    assert "price_minor" in error["details"]


def test_nested_entries_are_strict_too(api, keys, personas) -> None:
    body = {
        **PLAN,
        "prices": [{"currency": "GBP", "billing_cycle": "monthly", "amount_minor": True}],
    }
    error = assert_error(api.post("/api/v1/plans", keys.admin_a, body), 422)
    assert "prices[0].amount_minor" in error["details"]


def test_well_typed_values_are_still_accepted(api, keys, personas) -> None:
    response = api.post("/api/v1/plans", keys.admin_a, {**PLAN, "gst_enabled": True})
    assert response.status_code == 201, response.content
    assert response.json()["gst_enabled"] is True


# 8. Content-Type -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded", ""]
)
def test_a_json_body_sent_with_another_content_type_is_415(
    api, keys, personas, content_type
) -> None:
    import json

    response = api.client.post(
        "/api/v1/plans",
        data=json.dumps(PLAN),
        content_type=content_type,
        headers={"Authorization": f"Bearer {keys.admin_a}"},
    )

    error = assert_error(response, 415, "unsupported_media_type")
    assert "application/json" in error["message"]
    assert not Plan.objects.filter(name="silver").exists()


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "application/merge-patch+json"],
)
def test_json_content_types_are_accepted(api, keys, personas, content_type) -> None:
    import json

    response = api.client.post(
        "/api/v1/plans",
        data=json.dumps(PLAN),
        content_type=content_type,
        headers={"Authorization": f"Bearer {keys.admin_a}"},
    )
    assert response.status_code == 201, response.content


def test_the_content_type_is_checked_after_the_key(api, personas) -> None:
    response = api.client.post("/api/v1/plans", data="x", content_type="text/plain")
    assert_error(response, 401, "unauthenticated")


# 9. Unsafe method on an unknown /api/ path ----------------------------------------------


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_unsafe_method_on_an_unknown_api_path_is_the_json_404(method: str) -> None:
    # The whole site's URLconf and CSRF enforced, as a browser-less client meets them.
    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)(
        "/api/v1/no-such-thing", data="{}", content_type="application/json"
    )

    assert response["Content-Type"].startswith("application/json")
    assert_error(response, 404, "not_found")


# 10. Company-key writes ------------------------------------------------------------------


def test_company_key_creating_a_plan_is_403_like_every_company_key_write(
    api, keys, personas
) -> None:
    create = api.post("/api/v1/plans", keys.company_a, PLAN)
    patch = api.patch(f"/api/v1/companies/{personas.company_a.pk}", keys.company_a, {"name": "x"})

    assert_error(create, 403, "forbidden")
    assert_error(patch, 403, "forbidden")
    assert not Plan.objects.filter(name="silver").exists()


def test_foreign_reseller_on_plan_create_is_still_404(api, keys, personas) -> None:
    body = {**PLAN, "reseller_id": personas.reseller_a.pk}
    assert_error(api.post("/api/v1/plans", keys.admin_b, body), 404, "not_found")
    assert_error(api.post("/api/v1/plans", keys.viewer_a, PLAN), 403, "forbidden")


# 5. API keys: the lookup is scoped before the permission check --------------------------


def _key_of(reseller_id: int) -> ApiKey:
    key, _raw = api_key_create(
        actor=platform_actor(), scope="reseller_admin", reseller_id=reseller_id
    )
    return key


@pytest.mark.parametrize("who", ["company_a", "viewer_a", "admin_a"])
def test_revoking_a_foreign_key_answers_as_a_missing_one(api, keys, personas, who) -> None:
    foreign = _key_of(personas.reseller_b.pk)
    missing = foreign.pk + 10_000

    answer_foreign = api.post(f"/api/v1/api-keys/{foreign.pk}/revoke", getattr(keys, who))
    answer_missing = api.post(f"/api/v1/api-keys/{missing}/revoke", getattr(keys, who))

    assert answer_foreign.status_code == answer_missing.status_code
    assert answer_foreign.json() == answer_missing.json()
    foreign.refresh_from_db()
    assert foreign.revoked_at is None
    assert not AuditEvent.objects.filter(action="api_key.revoke").exists()


def test_company_key_may_not_revoke_keys_even_its_own_resellers(api, keys, personas) -> None:
    own = _key_of(personas.reseller_a.pk)
    assert_error(api.post(f"/api/v1/api-keys/{own.pk}/revoke", keys.company_a), 403)
    assert_error(api.post(f"/api/v1/api-keys/{own.pk}/revoke", keys.viewer_a), 403)
    own.refresh_from_db()
    assert own.revoked_at is None


# 11. Every status an operation can answer is in the OpenAPI document --------------------


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    schema = ninja_api.get_openapi_schema()
    return [
        (method, path, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "responses" in op
    ]


def test_every_operation_declares_the_statuses_the_framework_can_answer() -> None:
    for method, path, op in _operations():
        declared = {int(s) for s in op["responses"]}
        expected: set[int] = set()
        if op.get("security"):
            expected.add(401)
        if op.get("parameters") or "requestBody" in op:
            expected.add(422)
        if "{" in path:
            expected.add(404)
        if "requestBody" in op:
            expected |= {400, 413, 415}
        assert expected <= declared, (method, path, sorted(expected - declared))


def test_public_plans_declares_its_422(api, personas) -> None:
    schema = ninja_api.get_openapi_schema()
    responses = schema["paths"]["/api/v1/register/{reseller_slug}/plans"]["get"]["responses"]
    response = api.get("/api/v1/register/no%20such%20slug/plans", None)

    assert response.status_code == 422
    assert 422 in {int(s) for s in responses}
