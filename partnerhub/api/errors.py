"""The one place where anything raised under /api/ becomes `{"error": {code, message, details}}`.

Services raise `core.errors.DomainError` subclasses that carry their own status
and code; ninja raises its own errors for authentication, unparsable bodies and
invalid parameters. Every one of them leaves here in the same shape, so a client
handles errors once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import DataError, IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.parser import Parser

from partnerhub.core.errors import DomainError, RateLimited
from partnerhub.core.schemas import PATTERN_MESSAGES

logger = logging.getLogger("partnerhub.api")

# Codes for errors that do not come from a service.
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}
# Where a ninja validation error happened; the client only needs the field.
# Every handler names its JSON body parameter `payload` (see api/schemas.py).
BODY_PARAM = "payload"
_PARAM_SOURCES = {"body", "query", "path", "header", "cookie", "form", "file"}


class UnsupportedMediaType(Exception):
    """A request body that does not say it is JSON (raised by JsonOnlyParser)."""


class JsonOnlyParser(Parser):
    """Parse a body only if its Content-Type says JSON (`application/json` or `…+json`).

    Without the check, a JSON body sent as text/plain, XML or with no type at all was
    accepted; a client that sends the wrong type has a bug worth telling it about. Ninja
    wraps any parse failure in a 400 HttpError; `on_http_error` turns this cause into 415.
    """

    def parse_body(self, request: HttpRequest) -> Any:
        media_type = (request.content_type or "").strip().lower()
        if media_type != "application/json" and not (
            media_type.startswith("application/") and media_type.endswith("+json")
        ):
            raise UnsupportedMediaType(media_type)
        return super().parse_body(request)


def error_response(
    api: NinjaAPI, request: HttpRequest, status: int, code: str, message: str, details: Any = None
) -> HttpResponse:
    if details is not None and not isinstance(details, Mapping):
        details = {"detail": details}  # the documented shape: an object or null
    body = {"error": {"code": code, "message": message, "details": details}}
    return api.create_response(request, body, status=status)


def field_name(loc: Iterable[Any]) -> str:
    """`("body", "data", "fees", 0, "currency")` -> `"fees[0].currency"`.

    The source and the handler's body parameter name are dropped: a client knows
    neither, it knows its own JSON. An error on the whole body is named "body".
    """
    parts = list(loc)
    source = parts.pop(0) if parts and parts[0] in _PARAM_SOURCES else None
    if source == "body" and parts and parts[0] == BODY_PARAM:
        parts.pop(0)
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or (source or "body")


def validation_details(errors: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    details: dict[str, list[str]] = {}
    for err in errors:
        name = field_name(err.get("loc", ()))
        message = str(err.get("msg", "is invalid"))
        if err.get("type") == "extra_forbidden":
            message = "unknown field"
        elif err.get("type") == "string_pattern_mismatch":
            pattern = str((err.get("ctx") or {}).get("pattern"))
            message = PATTERN_MESSAGES.get(pattern, message)
        details.setdefault(name, []).append(message)
    return details


def install_error_handlers(api: NinjaAPI) -> None:
    """Register the error shape on `api`, for every exception a request can raise."""

    def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        response = error_response(api, request, exc.status, exc.code, exc.message, exc.details)
        if isinstance(exc, RateLimited):
            response["Retry-After"] = str(max(1, int(exc.retry_after)))
        return response

    def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        details = validation_details(exc.errors)
        message = "Invalid input: " + ", ".join(details) if details else "Invalid input."
        return error_response(api, request, 422, "validation_error", message, details)

    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        status = exc.status_code
        code = _HTTP_CODES.get(status, "error")
        if isinstance(exc, AuthenticationError):
            message = "A valid API key is required: send 'Authorization: Bearer <key>'."
        elif status == 400 and isinstance(exc.__cause__, UnsupportedMediaType):
            status, code = 415, _HTTP_CODES[415]
            message = "The request body must be JSON, sent with 'Content-Type: application/json'."
        elif status == 400:
            message = "The request body is not valid JSON."
        else:
            message = str(exc)
        response = error_response(api, request, status, code, message)
        if status == 401:
            response["WWW-Authenticate"] = "Bearer"
        if isinstance(exc, Throttled) and exc.wait is not None:
            response["Retry-After"] = str(max(1, int(exc.wait)))
        return response

    def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return error_response(api, request, 404, "not_found", "Not found.")

    def on_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        return error_response(api, request, 413, "payload_too_large", "The request is too large.")

    # Safety nets: a service that lets a database error through on client input
    # is a bug (logged loudly), but the client still gets a 4xx it can act on.
    def on_integrity_error(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
        logger.warning("IntegrityError reached the API on %s %s", request.method, request.path)
        return error_response(
            api, request, 409, "conflict", "The change conflicts with existing data."
        )

    def on_data_error(request: HttpRequest, exc: DataError) -> HttpResponse:
        logger.warning("DataError reached the API on %s %s", request.method, request.path)
        return error_response(
            api, request, 422, "validation_error", "A value is out of the accepted range."
        )

    def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        return error_response(api, request, 500, "internal_error", "Something went wrong.")

    handlers: list[tuple[type[Exception], Any]] = [
        (DomainError, on_domain_error),
        (ValidationError, on_validation_error),
        (HttpError, on_http_error),
        (Http404, on_not_found),
        (RequestDataTooBig, on_too_big),
        (IntegrityError, on_integrity_error),
        (DataError, on_data_error),
        (Exception, on_unexpected),
    ]
    for exc_class, handler in handlers:
        api.add_exception_handler(exc_class, handler)
