"""API test helpers: one bearer key per persona, and a JSON client that sends it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from partnerhub.accounts.services import api_key_create
from partnerhub.core.actor import platform_actor
from partnerhub.testing.personas import Personas


@dataclass
class Keys:
    platform: str
    admin_a: str
    viewer_a: str
    company_a: str
    admin_b: str


@pytest.fixture
def keys(personas: Personas) -> Keys:
    operator = platform_actor("test-setup")

    def mint(scope: str, **owner: Any) -> str:
        return api_key_create(actor=operator, scope=scope, **owner)[1]

    return Keys(
        platform=mint("platform"),
        admin_a=mint("reseller_admin", reseller_id=personas.reseller_a.pk),
        viewer_a=mint("reseller_viewer", reseller_id=personas.reseller_a.pk),
        company_a=mint("company", company_id=personas.company_a.pk),
        admin_b=mint("reseller_admin", reseller_id=personas.reseller_b.pk),
    )


class ApiClient:
    """`api.post("/api/v1/plans", key, {...})` -> the Django test response (`.json()`)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def request(
        self,
        method: str,
        path: str,
        key: str | None,
        body: Any = None,
        *,
        raw: str | bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        all_headers = dict(headers or {})
        if key is not None:
            all_headers["Authorization"] = f"Bearer {key}"
        if method == "get":
            return self.client.get(path, body or {}, headers=all_headers)
        data: Any = raw if raw is not None else ("" if body is None else json.dumps(body))
        return getattr(self.client, method)(
            path, data=data, content_type="application/json", headers=all_headers
        )

    def get(self, path: str, key: str | None, params: Any = None, **kw: Any) -> Any:
        return self.request("get", path, key, params, **kw)

    def post(self, path: str, key: str | None, body: Any = None, **kw: Any) -> Any:
        return self.request("post", path, key, body, **kw)

    def patch(self, path: str, key: str | None, body: Any = None, **kw: Any) -> Any:
        return self.request("patch", path, key, body, **kw)

    def put(self, path: str, key: str | None, body: Any = None, **kw: Any) -> Any:
        return self.request("put", path, key, body, **kw)

    def delete(self, path: str, key: str | None, **kw: Any) -> Any:
        return self.request("delete", path, key, **kw)


@pytest.fixture
def api(client: Client, settings: Any) -> ApiClient:
    settings.ROOT_URLCONF = "partnerhub.api.tests.urls"
    return ApiClient(client)


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is `status` in the one error shape; answers its `error` object."""
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    if code is not None:
        assert error["code"] == code
    return error
