"""Endpoints about the API itself."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from partnerhub.core.schemas import OutputSchema, responses

router = Router(tags=["system"])


class PingOut(OutputSchema):
    ok: bool


@router.get("/ping", response=responses({200: PingOut}, (401,)))
def ping(request: HttpRequest) -> dict[str, bool]:
    """A constant answer behind the same authentication as every endpoint.

    Useful to check a key, and the ceiling the benchmark measures the rest against.
    """
    return {"ok": True}
