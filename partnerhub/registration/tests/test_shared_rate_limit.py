"""Issue 11, item 3: the registration limit is shared by every web process, on the embedded
default too (whose cache is each process's own local memory)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings

from partnerhub.companies.models import Company

pytestmark = pytest.mark.django_db


def _process_cache(name: str) -> dict[str, Any]:
    """The default cache of one web process: local memory nobody else sees."""
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"web-process-{name}",
        }
    }


def test_thirty_attempts_against_two_processes_accept_only_the_limit(personas, settings) -> None:
    settings.REGISTRATION_RATE_LIMIT = 10
    settings.REGISTRATION_RATE_WINDOW_SECONDS = 3600
    client = Client()
    statuses = []
    for n in range(30):
        with override_settings(CACHES=_process_cache("one" if n % 2 else "two")):
            response = client.post(
                "/api/v1/register/northwind",
                data={"company_name": f"Co {n}", "contact_email": f"c{n}@example.com"},
                content_type="application/json",
                REMOTE_ADDR="203.0.113.50",
            )
        statuses.append(response.status_code)

    assert statuses.count(201) == 10, statuses
    assert statuses.count(429) == 20
    assert Company.objects.filter(name__startswith="Co ").count() == 10


def test_the_hub_form_and_the_api_share_one_budget(personas, settings) -> None:
    settings.REGISTRATION_RATE_LIMIT = 2
    settings.REGISTRATION_RATE_WINDOW_SECONDS = 3600
    client = Client()
    with override_settings(CACHES=_process_cache("one")):
        client.post(
            "/r/northwind/register",
            {"company_name": "Form Co", "contact_email": "f@example.com"},
            REMOTE_ADDR="203.0.113.51",
        )
    with override_settings(CACHES=_process_cache("two")):
        api_ok = client.post(
            "/api/v1/register/northwind",
            data={"company_name": "Api Co", "contact_email": "a@example.com"},
            content_type="application/json",
            REMOTE_ADDR="203.0.113.51",
        )
        api_limited = client.post(
            "/api/v1/register/northwind",
            data={"company_name": "Api Co 2", "contact_email": "b@example.com"},
            content_type="application/json",
            REMOTE_ADDR="203.0.113.51",
        )

    assert Company.objects.filter(name="Form Co").exists()
    assert api_ok.status_code == 201
    assert api_limited.status_code == 429
