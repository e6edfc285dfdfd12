"""Issue 11, item 6: Content-Security-Policy on every page, HSTS for TLS deployments, and
Swagger UI served from our own static files (no CDN)."""

from __future__ import annotations

import re

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = [d.strip().split() for d in header.split(";") if d.strip()]
    return {d[0]: d[1:] for d in directives}


@pytest.mark.parametrize("url", ["/login/", "/api/docs", "/api/v1/ping", "/admin/login/"])
def test_every_response_carries_a_content_security_policy(url: str) -> None:
    policy = _policy(Client().get(url))

    assert policy["script-src"] == ["'self'"]  # no inline script, no eval, no CDN
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]


def test_hub_pages_have_no_inline_script_or_handler(personas) -> None:
    client = Client()
    client.force_login(personas.platform_user)
    for url in ["/", "/plans/", "/companies/", "/resellers/", "/api-keys/", "/login/"]:
        html = client.get(url, follow=True).content.decode()
        scripts = re.findall(r"<script\b([^>]*)>", html)
        assert all("src=" in attrs or "application/json" in attrs for attrs in scripts), url
        assert not re.search(r"\son[a-z]+=", html), url
        assert "javascript:" not in html, url


def test_swagger_ui_is_served_from_our_own_static_files() -> None:
    html = Client().get("/api/docs").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)

    assert any(s.endswith("swagger-ui-bundle.js") for s in sources), sources
    assert all(s.startswith("/") and not s.startswith("//") for s in sources), sources
    assert "cdn" not in html.lower()
    bundle = next(s for s in sources if s.endswith("swagger-ui-bundle.js"))
    assert Client().get(bundle).status_code == 200


def test_no_hsts_by_default_even_over_https() -> None:
    response = Client().get("/login/", secure=True)
    assert "Strict-Transport-Security" not in response


@override_settings(SECURE_HSTS_SECONDS=31_536_000, SECURE_HSTS_INCLUDE_SUBDOMAINS=True)
def test_hsts_is_sent_on_secure_requests_when_configured() -> None:
    secure = Client().get("/login/", secure=True)
    plain = Client().get("/login/")

    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "Strict-Transport-Security" not in plain


@override_settings(
    SECURE_HSTS_SECONDS=3600, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")
)
def test_behind_a_tls_proxy_the_forwarded_proto_turns_hsts_on() -> None:
    response = Client().get("/login/", headers={"X-Forwarded-Proto": "https"})
    assert response["Strict-Transport-Security"] == "max-age=3600"
