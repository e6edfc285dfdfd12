"""The errors a caller can catch: one class per kind of failure, all `PartnerhubError`."""

from __future__ import annotations

from typing import Any


class PartnerhubError(Exception):
    """Anything this client raises on purpose."""


class Unavailable(PartnerhubError):
    """Partnerhub could not be reached, or kept answering 5xx/429, after every retry."""


class UsageQueueFull(PartnerhubError):
    """`record_usage` waited `enqueue_timeout` seconds for room in the bounded queue."""


class WebhookVerificationError(PartnerhubError):
    """A webhook whose Standard Webhooks signature or timestamp does not verify."""


class ApiError(PartnerhubError):
    """Partnerhub answered an error (`{"error": {"code", "message", "details"}}`)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        method: str = "",
        path: str = "",
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.method = method
        self.path = path
        where = f" ({method} {path})" if method else ""
        super().__init__(f"{status} {code}: {message}{where}")


class AuthenticationError(ApiError):
    """401: the API key is unknown, wrong or revoked. Retrying will not help."""

    def __init__(self, status: int, code: str, message: str, *args: Any, **kwargs: Any) -> None:
        message = (
            f"{message} Partnerhub rejected the API key: it is revoked, expired, mistyped or "
            "of another installation. Create one with `partnerhub apikey create` and pass it "
            "as api_key."
        )
        super().__init__(status, code, message, *args, **kwargs)


class PermissionDenied(ApiError):
    """403: the key is valid but may not do this (a viewer writing, another reseller's)."""


class NotFound(ApiError):
    """404: no such object in the key's scope (another tenant's answers the same)."""


class Conflict(ApiError):
    """409: a stale `version`, or an event id sent again with other content."""


class ValidationError(ApiError):
    """422 (or 400/413/415): the request does not validate; `details` names the fields."""


class RateLimited(ApiError):
    """429 after the retries: the caller sends too fast."""


class ServerError(ApiError):
    """5xx after the retries."""


def error_for_status(status: int) -> type[ApiError]:
    if status == 401:
        return AuthenticationError
    if status == 403:
        return PermissionDenied
    if status == 404:
        return NotFound
    if status == 409:
        return Conflict
    if status == 429:
        return RateLimited
    if status >= 500:
        return ServerError
    if status in (400, 413, 415, 422):
        return ValidationError
    return ApiError
