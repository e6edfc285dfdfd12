"""API keys over HTTP: shown once, stored hashed, scoped, revocable."""

from __future__ import annotations

import pytest

from partnerhub.accounts.models import ApiKey
from partnerhub.api.tests.conftest import assert_error

pytestmark = pytest.mark.django_db


def test_admin_creates_a_viewer_key_shown_once_and_usable(api, keys, personas) -> None:
    created = api.post(
        "/api/v1/api-keys", keys.admin_a, {"scope": "reseller_viewer", "name": "reporting"}
    )

    assert created.status_code == 201, created.content
    raw = created.json()["key"]
    listed = api.get(f"/api/v1/api-keys/{created.json()['id']}", keys.admin_a).json()
    stored = ApiKey.objects.get(pk=created.json()["id"])
    assert "key" not in listed
    assert raw not in (stored.hashed_secret, stored.prefix)
    assert stored.reseller_id == personas.reseller_a.pk
    assert api.get("/api/v1/plans", raw).status_code == 200
    assert_error(api.post(f"/api/v1/plans/{personas.plan_a.pk}/archive", raw), 403)


def test_viewer_cannot_create_keys_and_outsider_cannot_see_them(api, keys, personas) -> None:
    key_id = api.post("/api/v1/api-keys", keys.admin_a, {"scope": "reseller_viewer"}).json()["id"]

    assert_error(api.post("/api/v1/api-keys", keys.viewer_a, {"scope": "reseller_viewer"}), 403)
    assert_error(api.get(f"/api/v1/api-keys/{key_id}", keys.admin_b), 404)
    assert_error(api.post(f"/api/v1/api-keys/{key_id}/revoke", keys.admin_b), 404)
    assert key_id not in [
        k["id"] for k in api.get("/api/v1/api-keys", keys.admin_b).json()["items"]
    ]


def test_revoked_key_stops_working(api, keys, personas) -> None:
    created = api.post("/api/v1/api-keys", keys.admin_a, {"scope": "reseller_admin"}).json()

    revoked = api.post(f"/api/v1/api-keys/{created['id']}/revoke", keys.admin_a).json()

    assert revoked["revoked"] is True
    assert_error(api.get("/api/v1/ping", created["key"]), 401)


def test_a_reseller_cannot_mint_a_platform_key(api, keys) -> None:
    assert_error(api.post("/api/v1/api-keys", keys.admin_a, {"scope": "platform"}), 403)
    assert_error(api.post("/api/v1/api-keys", keys.admin_a, {"scope": "root"}), 422)
