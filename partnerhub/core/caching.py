"""Whole response bodies, rendered once per cache key.

For pages read far more often than they change (the plan list): the body is validated
against its response schema and rendered exactly as ninja would, then kept under a key
that carries the versions of everything it shows (resellers/versions.py), so a write
never has to find it. A hit costs one cache read and no serialisation.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja.renderers import JSONRenderer
from pydantic import BaseModel

from partnerhub.core.versioned_cache import versioned_get, versioned_set

TTL_SECONDS = 3600
_RENDERER = JSONRenderer()  # the API's renderer (PartnerhubAPI keeps ninja's default)


def params_digest(params: BaseModel) -> str:
    """A short, stable digest of a request's validated query parameters."""
    raw = json.dumps(params.model_dump(mode="json"), sort_keys=True).encode()
    return hashlib.blake2b(raw, digest_size=12).hexdigest()


def _json(body: bytes | str) -> HttpResponse:
    return HttpResponse(body, content_type=f"{_RENDERER.media_type}; charset={_RENDERER.charset}")


def prevalidated_json(request: HttpRequest, data: Any) -> HttpResponse:
    """The 200 response for `data` as ninja renders it, without validating it again against
    the operation's response schema: for a hot endpoint whose selector already builds
    exactly that schema's shape from typed columns. A test holds every such endpoint's
    body equal to the validated rendering (usage/tests/test_api_usage.py)."""
    return _json(_RENDERER.render(request, data, response_status=200))


def cached_json(
    request: HttpRequest,
    key: str | None,
    schema: type[BaseModel],
    build: Callable[[], Any],
) -> HttpResponse:
    """The 200 response for `key`, from the cache or from `build()` validated by `schema`.
    With key None (its versions cannot be told) nothing is cached."""
    if key is not None:
        body = versioned_get(key)
        if body is not None:
            return _json(body)
    data = schema.model_validate(build()).model_dump()
    body = _RENDERER.render(request, data, response_status=200)
    if key is not None:
        versioned_set(key, body, TTL_SECONDS)
    return _json(body)
