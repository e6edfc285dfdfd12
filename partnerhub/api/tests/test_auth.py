"""Bearer keys and hub sessions: who may call the API at all."""

from __future__ import annotations

import pytest
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory

from partnerhub.accounts.models import ApiKey
from partnerhub.accounts.services import api_key_revoke
from partnerhub.api.tests.conftest import assert_error
from partnerhub.core.actor import platform_actor

pytestmark = pytest.mark.django_db


def test_a_valid_key_reaches_the_api(api, keys) -> None:
    response = api.get("/api/v1/ping", keys.platform)

    assert response.status_code == 200
    assert response.json() == {"ok": True}


@pytest.mark.parametrize(
    "header",
    [
        "Bearer nonsense",
        "Bearer ph_000000000000_wrong",
        "Basic dXNlcjpwYXNz",
        "Bearer " + "x" * 5000,
    ],
)
def test_an_unknown_key_or_scheme_is_401(api, keys, header: str) -> None:
    response = api.get("/api/v1/ping", None, headers={"Authorization": header})

    assert_error(response, 401, "unauthenticated")


def test_a_key_with_a_wrong_secret_is_401(api, keys) -> None:
    prefix = keys.admin_a.split("_")[1]
    forged = f"ph_{prefix}_{'A' * 43}"

    assert_error(api.get("/api/v1/ping", forged), 401)


def test_a_revoked_key_is_401_at_once(api, keys) -> None:
    key = ApiKey.objects.get(prefix=keys.admin_a.split("_")[1])
    assert api.get("/api/v1/plans", keys.admin_a).status_code == 200

    api_key_revoke(actor=platform_actor(), api_key_id=key.pk)

    assert_error(api.get("/api/v1/plans", keys.admin_a), 401)


def test_a_hub_session_user_reads_through_the_api_as_their_role(api, client, personas) -> None:
    client.force_login(personas.admin_b_user)

    own = api.get("/api/v1/plans", None)
    foreign = api.get(f"/api/v1/plans/{personas.plan_a.pk}", None)

    assert own.status_code == 200
    assert own.json()["count"] == 0
    assert_error(foreign, 404, "not_found")


def test_a_hub_session_write_needs_the_csrf_token(personas) -> None:
    # The project URLconf: Django's CSRF failure page renders the hub's navigation.
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(personas.admin_a_user)
    url = f"/api/v1/plans/{personas.plan_a.pk}/archive"
    token = get_token(RequestFactory().get("/"))

    forged = browser.post(url, content_type="application/json")
    browser.cookies["csrftoken"] = token
    allowed = browser.post(url, content_type="application/json", headers={"X-CSRFToken": token})

    assert_error(forged, 403, "forbidden")
    assert allowed.status_code == 200, allowed.content
    assert allowed.json()["archived"] is True
