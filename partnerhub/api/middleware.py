"""Keep the API's one error shape for the one answer ninja writes itself: 405."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed

from partnerhub.api.errors import error_response
from partnerhub.api.urls import api


class ApiMethodNotAllowedMiddleware:
    """ninja answers a wrong method on a known path with a plain-text 405 before any
    exception handler runs; under /api/ it becomes the JSON error, `Allow` kept."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if isinstance(response, HttpResponseNotAllowed) and request.path.startswith("/api/"):
            allowed = response["Allow"]
            json_response = error_response(
                api,
                request,
                405,
                "method_not_allowed",
                f"{request.method} is not allowed here. Allowed: {allowed}.",
            )
            json_response["Allow"] = allowed
            return json_response
        return response
