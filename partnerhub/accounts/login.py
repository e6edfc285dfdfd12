"""Login throttle for the hub's login and /admin/login/ (issue 11, item 2).

Failed attempts are counted per username and per client address in fixed windows in the
database (accounts.ratecounter), so every web process shares the counts. Over either
limit, the form refuses every attempt, the right password included, until the window
ends; the password is then not even checked. A success clears the username's count
(its owner got in), never the address's (an attacker with an account of their own
could otherwise reset it between guesses).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from partnerhub.accounts.ratecounter import (
    Window,
    counter_clear,
    counter_hit,
    counter_value,
    window_for,
)
from partnerhub.core.http import client_address


def _windows(username: str, address: str) -> list[tuple[Window, int]]:
    seconds = settings.LOGIN_FAILURE_WINDOW_SECONDS
    return [
        (
            window_for("login-user", username.strip().casefold(), seconds),
            settings.LOGIN_FAILURE_LIMIT_PER_USERNAME,
        ),
        (window_for("login-addr", address, seconds), settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS),
    ]


def login_retry_after(username: str, address: str) -> int | None:
    """Seconds until a login may be tried again, or None if it may be tried now."""
    waits = [w.retry_after for w, limit in _windows(username, address) if counter_value(w) >= limit]
    return max(waits) if waits else None


def login_failure_record(username: str, address: str) -> None:
    for window, _limit in _windows(username, address):
        counter_hit(window)


def login_success_record(username: str, address: str) -> None:
    counter_clear(_windows(username, address)[0][0])


def throttle_message(retry_after: int) -> str:
    minutes = max(1, (retry_after + 59) // 60)
    unit = "minute" if minutes == 1 else "minutes"
    return f"Too many failed login attempts. Try again in {minutes} {unit}."


class ThrottledLoginMixin:
    """For Django's authentication forms: the throttle around their `clean`."""

    request: Any
    cleaned_data: dict[str, Any]
    throttled = False

    def clean(self) -> dict[str, Any]:
        username = str(self.cleaned_data.get("username") or "")
        address = client_address(self.request) if self.request is not None else "unknown"
        retry_after = login_retry_after(username, address)
        if retry_after is not None:
            self.throttled = True
            raise forms.ValidationError(throttle_message(retry_after), code="throttled")
        try:
            cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]
        except forms.ValidationError:
            login_failure_record(username, address)
            raise
        login_success_record(username, address)
        return cleaned


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass
