"""Issue 11, item 2: failed logins are throttled per username and per client address, on
the hub's login and on /admin/login/, with counters every web process shares."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings

from partnerhub.accounts import ratecounter
from partnerhub.accounts.models import RateCounter
from partnerhub.testing.personas import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN_FORMS = ["/login/", "/admin/login/"]


@pytest.fixture
def limits(settings: Any) -> Any:
    settings.LOGIN_FAILURE_LIMIT_PER_USERNAME = 5
    settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS = 20
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 900
    return settings


def _post(
    client: Client, url: str, username: str, password: str, address: str = "198.51.100.7"
) -> Any:
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("url", LOGIN_FORMS)
def test_forty_wrong_passwords_then_the_right_one_is_refused(personas, limits, url) -> None:
    client = Client()
    for _ in range(40):
        _post(client, url, "operator", "wrong-password")

    response = _post(client, url, "operator", PASSWORD)

    assert response.status_code == 200
    assert not _logged_in(client)
    assert b"Too many failed login attempts. Try again in " in response.content


@pytest.mark.parametrize("url", LOGIN_FORMS)
def test_the_username_limit_holds_from_another_address(personas, limits, url) -> None:
    client = Client()
    for n in range(5):
        _post(client, url, "operator", "wrong-password", address=f"203.0.113.{n}")

    response = _post(client, url, "operator", PASSWORD, address="192.0.2.200")

    assert not _logged_in(client)
    assert b"Too many failed login attempts" in response.content


def test_the_address_limit_holds_across_usernames(personas, limits) -> None:
    client = Client()
    for n in range(20):
        _post(client, "/login/", f"guess-{n}", "wrong-password")

    response = _post(client, "/login/", "admin-a", PASSWORD)

    assert not _logged_in(client)
    assert b"Too many failed login attempts" in response.content
    other = Client()
    _post(other, "/login/", "admin-a", PASSWORD, address="192.0.2.1")
    assert _logged_in(other)


def test_under_the_limit_the_right_password_logs_in_and_clears_the_username_count(
    personas, limits
) -> None:
    client = Client()
    for _ in range(4):
        _post(client, "/login/", "admin-a", "wrong-password")

    response = _post(client, "/login/", "admin-a", PASSWORD)

    assert response.status_code == 302
    assert _logged_in(client)
    # The username's count starts again; the address keeps its four failures.
    assert sorted(RateCounter.objects.values_list("count", flat=True)) == [4]


def test_the_throttle_ends_with_its_window(personas, limits, monkeypatch) -> None:
    now = {"t": 1_800_000_000}
    monkeypatch.setattr(ratecounter, "now_seconds", lambda: now["t"])
    client = Client()
    for _ in range(6):
        _post(client, "/login/", "admin-a", "wrong-password")
    assert not _logged_in(client)

    now["t"] += 900
    _post(client, "/login/", "admin-a", PASSWORD)

    assert _logged_in(client)
    # Expired windows are purged as new attempts come.
    assert not RateCounter.objects.filter(expires_at__lt=now["t"]).exists()


@override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}})
def test_counts_do_not_depend_on_a_cache_shared_between_processes(personas, limits) -> None:
    # With no cache at all (each process's local memory would be no better), the counts
    # still add up: they are rows in the database that every process reads.
    client = Client()
    for _ in range(5):
        _post(client, "/login/", "admin-a", "wrong-password")
    _post(client, "/login/", "admin-a", PASSWORD)
    assert not _logged_in(client)
