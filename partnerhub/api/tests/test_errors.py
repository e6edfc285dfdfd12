"""The one error shape: every status a client can get, whatever raised it."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.urls import path
from ninja import NinjaAPI

from partnerhub.api.errors import field_name, install_error_handlers
from partnerhub.api.tests.conftest import assert_error
from partnerhub.core.errors import (
    Conflict,
    FeatureUnavailable,
    NotFound,
    PermissionDenied,
    RateLimited,
    ValidationFailed,
)
from partnerhub.plans.models import Plan

pytestmark = pytest.mark.django_db

# A bare API with the same handlers, raising each domain error on demand.
_probe = NinjaAPI(urls_namespace="error-probe")
install_error_handlers(_probe)
_RAISES = {
    "not-found": NotFound("Plan not found."),
    "forbidden": PermissionDenied("This account can read but not change data."),
    "plans-off": FeatureUnavailable("Plans are not enabled for this reseller."),
    "conflict": Conflict("Taken.", code="name_taken", details={"suggested_name": "gold (2)"}),
    "invalid": ValidationFailed.field("name", "must not be empty"),
    "limited": RateLimited("Too many registrations.", retry_after=42),
    "bug": RuntimeError("boom"),
}


@_probe.get("/raise/{kind}")
def _raise(request, kind: str):
    raise _RAISES[kind]


urlpatterns = [path("probe/", _probe.urls)]


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("not-found", 404, "not_found"),
        ("forbidden", 403, "forbidden"),
        ("plans-off", 403, "feature_unavailable"),
        ("conflict", 409, "name_taken"),
        ("invalid", 422, "validation_error"),
        ("limited", 429, "rate_limited"),
    ],
)
@override_settings(ROOT_URLCONF=__name__)
def test_domain_errors_answer_their_status_and_code(kind: str, status: int, code: str) -> None:
    response = Client().get(f"/probe/raise/{kind}")

    error = assert_error(response, status, code)
    assert error["message"] == _RAISES[kind].args[0]


@override_settings(ROOT_URLCONF=__name__)
def test_rate_limited_answers_retry_after() -> None:
    response = Client().get("/probe/raise/limited")

    assert response["Retry-After"] == "42"
    assert assert_error(response, 429)["details"] == {"retry_after": 42}


@override_settings(ROOT_URLCONF=__name__)
def test_validation_failure_names_the_field() -> None:
    error = assert_error(Client().get("/probe/raise/invalid"), 422)

    assert error["details"] == {"name": ["must not be empty"]}


@override_settings(ROOT_URLCONF=__name__)
def test_unexpected_error_is_a_500_in_the_error_shape_without_internals() -> None:
    response = Client(raise_request_exception=False).get("/probe/raise/bug")

    error = assert_error(response, 500, "internal_error")
    assert "boom" not in response.content.decode()
    assert error["details"] is None


def test_missing_key_is_401_with_a_bearer_challenge(api) -> None:
    response = api.get("/api/v1/ping", None)

    assert_error(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"] == "Bearer"


def test_malformed_json_is_400(api, keys) -> None:
    response = api.post("/api/v1/plans", keys.admin_a, raw='{"name": "gold",')

    assert_error(response, 400, "bad_request")
    assert Plan.objects.count() == 1  # the persona's plan only


def test_non_utf8_body_is_400(api, keys) -> None:
    response = api.post("/api/v1/plans", keys.admin_a, raw=b'{"name": "\xff"}')

    assert_error(response, 400, "bad_request")


def test_unknown_field_is_422_naming_it(api, keys) -> None:
    body = {
        "plan_type": "usage_based",
        "name": "silver",
        "billing_cycles": ["monthly"],
        "colour": "red",
    }

    error = assert_error(api.post("/api/v1/plans", keys.admin_a, body), 422, "validation_error")

    assert error["details"] == {"colour": ["unknown field"]}
    assert not Plan.objects.filter(name="silver").exists()


def test_unknown_nested_field_is_422_naming_its_path(api, keys) -> None:
    body = {
        "plan_type": "usage_based",
        "name": "silver",
        "billing_cycles": ["monthly"],
        "fees": [{"currency": "GBP", "fee_type": "ticket", "percent_bps": 1, "vat": 2}],
    }

    error = assert_error(api.post("/api/v1/plans", keys.admin_a, body), 422)

    assert error["details"] == {"fees[0].vat": ["unknown field"]}


def test_invalid_value_is_422_naming_the_field(api, keys) -> None:
    body = {"plan_type": "gold_based", "name": "silver", "billing_cycles": ["weekly"]}

    error = assert_error(api.post("/api/v1/plans", keys.admin_a, body), 422)

    assert set(error["details"]) == {"plan_type", "billing_cycles[0]"}


def test_null_for_a_field_that_cannot_be_null_is_422(api, keys, personas) -> None:
    plan = personas.plan_a
    body = {"version": plan.version, "name": None}

    error = assert_error(api.patch(f"/api/v1/plans/{plan.pk}", keys.admin_a, body), 422)

    assert "name" in error["details"]
    plan.refresh_from_db()
    assert plan.name == "gold"


@pytest.mark.parametrize(
    "value",
    ["nul\x00byte", "lone \ud800 surrogate", "x" * 121],
)
def test_text_the_database_cannot_store_is_422(api, keys, personas, value: str) -> None:
    plan = personas.plan_a
    body = {"version": plan.version, "name": value}

    error = assert_error(api.patch(f"/api/v1/plans/{plan.pk}", keys.admin_a, body), 422)

    assert list(error["details"]) == ["name"]


@pytest.mark.parametrize("plan_id", ["0", "-1", "abc", str(2**63)])
def test_ids_outside_the_database_range_are_422(api, keys, plan_id: str) -> None:
    error = assert_error(api.get(f"/api/v1/plans/{plan_id}", keys.admin_a), 422)

    assert list(error["details"]) == ["plan_id"]


def test_amount_too_large_for_the_fee_arithmetic_is_422(api, keys, personas) -> None:
    body = {
        "company_id": personas.company_a.pk,
        "currency": "GBP",
        "fee_type": "ticket",
        "price_minor": 2**62,
    }

    error = assert_error(api.post("/api/v1/fees/quote", keys.admin_a, body), 422)

    assert list(error["details"]) == ["price_minor"]


def test_field_name_drops_the_source_and_the_handler_parameter() -> None:
    assert field_name(("body", "payload", "fees", 0, "currency")) == "fees[0].currency"
    assert field_name(("query", "limit")) == "limit"
    assert field_name(("body", "payload")) == "body"


def test_an_unknown_api_path_is_a_json_404(api, keys) -> None:
    error = assert_error(api.get("/api/v1/no-such-thing", keys.platform), 404, "not_found")

    assert error["message"] == "No such API endpoint."
