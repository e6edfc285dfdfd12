"""A tiny host platform: a one-file Django app whose companies send messages, gated by
Partnerhub through `partnerhub_client` (see README.md beside this file).

    PARTNERHUB_URL=http://127.0.0.1:8000 PARTNERHUB_API_KEY=ph_... \\
    PARTNERHUB_WEBHOOK_SECRET=whsec_... \\
        .venv/bin/python examples/host_app/app.py runserver --noreload 127.0.0.1:8100

GET  /companies/<id>/entitlements  what the cache says (and whether it is stale)
POST /companies/<id>/messages      send a message: needs the `plans` feature, consumes
                                   one `messages` (refused past the limit)
POST /partnerhub/webhooks          Partnerhub's webhooks (the endpoint's URL)
"""

from __future__ import annotations

import os
import sys

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    SECRET_KEY="example-only",
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
)
django.setup()

from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402
from partnerhub_client import Fallback, Partnerhub  # noqa: E402

# The five lines of the integration: the client, a check, a consume, the receiver.
partnerhub = Partnerhub(
    os.environ["PARTNERHUB_URL"],
    api_key=os.environ["PARTNERHUB_API_KEY"],
    webhook_secret=os.environ["PARTNERHUB_WEBHOOK_SECRET"],
    # While Partnerhub is unreachable, a company never read before may still log in and
    # read, but sends nothing: what this host decided a safe default is.
    fallback=Fallback.of(features=["plans"], limits={"messages": 0}),
)


def show_entitlements(request: HttpRequest, company_id: int) -> JsonResponse:
    entitlements = partnerhub.entitlements(company_id)
    return JsonResponse(
        {
            "company_id": company_id,
            "features": sorted(entitlements.features),
            "limits": dict(entitlements.limits),
            "stale": entitlements.stale,
            "source": entitlements.source,
        }
    )


@csrf_exempt
def send_message(request: HttpRequest, company_id: int) -> JsonResponse:
    if request.method != "POST":
        return JsonResponse({"error": "POST only"}, status=405)
    if not partnerhub.entitlements(company_id).has("plans"):
        return JsonResponse({"sent": False, "reason": "feature off"}, status=403)
    answer = partnerhub.consume(company_id, "messages", 1)
    if not answer.allowed:
        return JsonResponse({"sent": False, "reason": "limit reached"}, status=429)
    return JsonResponse({"sent": True, "remaining": answer.remaining})


urlpatterns = [
    path("partnerhub/webhooks", partnerhub.django_view()),
    path("companies/<int:company_id>/entitlements", show_entitlements),
    path("companies/<int:company_id>/messages", send_message),
]


if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
