"""What every hub view shares: the actor of the request and the mapping of domain errors.

Views stay thin (STYLE.md): parse with a form, call one service or selector, render.
`hub_view` turns `core.errors` into pages once, so no view repeats it:
NotFound -> the 404 page (another reseller's object looks exactly like a missing one),
PermissionDenied -> the 403 page with the service's message.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from partnerhub.accounts.authentication import actor_for_user
from partnerhub.core import wording
from partnerhub.core.actor import Actor
from partnerhub.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed

_ACTOR_ATTR = "_partnerhub_actor"

View = Callable[..., HttpResponse]


def request_actor(request: HttpRequest) -> Actor | None:
    """The actor of a logged-in hub user (cached on the request), or None."""
    if not hasattr(request, _ACTOR_ATTR):
        setattr(request, _ACTOR_ATTR, actor_for_user(getattr(request, "user", None)))
    actor: Actor | None = getattr(request, _ACTOR_ATTR)
    return actor


def actor_of(request: HttpRequest) -> Actor:
    """The actor inside a `hub_view` (always set there)."""
    actor = request_actor(request)
    assert actor is not None, "actor_of() is for views wrapped in hub_view"
    return actor


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "403.html", {"message": message}, status=403)


def hub_view(view: View) -> View:
    """Login required, an actor with a role, and domain errors rendered as pages."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if request_actor(request) is None:
            return forbidden(request, "Your account has no role in Partnerhub yet.")
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except PermissionDenied as exc:
            return forbidden(request, exc.message)
        except DomainError as exc:  # a Conflict or bad input no view form could show
            return problem(request, exc)

    return wrapper


def problem(request: HttpRequest, exc: DomainError) -> HttpResponse:
    """Explain a refused action where the person was: a banner on the page they came from
    (HTMX reloads it), else a page of its own with the error's status."""
    referer = request.headers.get("Referer", "")
    safe = url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()})
    if request.method == "POST" and (safe or is_htmx(request)):
        messages.error(request, exc.message)
        if is_htmx(request):
            response = HttpResponse(status=200)
            response["HX-Refresh"] = "true"
            return response
        return HttpResponseRedirect(referer)
    return render(request, "web/problem.html", {"message": exc.message}, status=exc.status)


def public_view(view: View) -> View:
    """No login; NotFound still renders the 404 page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc

    return wrapper


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def form_add_domain_errors(
    form: forms.Form, exc: ValidationFailed, aliases: dict[str, str] | None = None
) -> None:
    """Show a service's ValidationFailed next to the fields it names, in plain words.

    `details` is {field: [message, …]} in the service's (SPEC §12) field names and machine
    wording; `aliases` maps those to form field names and `core.wording.plain` turns each
    message into a sentence. Anything else becomes a form-level error, named by its label.
    """
    details = exc.details if isinstance(exc.details, dict) else {}
    if not details:
        form.add_error(None, wording.plain(exc.message))
        return
    for field, field_messages in details.items():
        name = (aliases or {}).get(field, field)
        if name not in form.fields:
            base = field.split("[")[0].split(".")[0]
            name = (aliases or {}).get(base, base)
        as_list = field_messages if isinstance(field_messages, list) else [field_messages]
        label = str(form.fields[name].label or name) if name in form.fields else _humanise(field)
        for message in as_list:
            text = wording.plain(str(message), label)
            if name in form.fields:
                form.add_error(name, text)
            else:
                form.add_error(None, f"{_humanise(field)}: {text}")


def _humanise(field: str) -> str:
    return field.split("[")[0].split(".")[0].replace("_", " ").capitalize()


def set_choices(form: forms.Form, name: str, choices: list[tuple[str, str]]) -> None:
    """Fill a choice field's options at runtime (catalog rows, the reseller's features)."""
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices
