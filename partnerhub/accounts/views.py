"""The API keys page: create (the key is shown once) and revoke."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from partnerhub.accounts.forms import ApiKeyForm
from partnerhub.accounts.hub import actor_of, form_add_domain_errors, hub_view
from partnerhub.accounts.selectors import api_key_list_for_actor
from partnerhub.accounts.services import api_key_create, api_key_revoke
from partnerhub.companies.selectors import company_find_by_label, company_pick_labels
from partnerhub.core import wording
from partnerhub.core.actor import Actor
from partnerhub.core.errors import NotFound, ValidationFailed
from partnerhub.resellers.selectors import reseller_list_for_actor

NEW_KEY_SESSION = "partnerhub_new_api_key"


@never_cache  # the page may carry a new key: never stored by a browser or proxy cache
@hub_view
def api_keys(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    resellers = [(r.pk, r.name) for r in reseller_list_for_actor(actor)]
    form = ApiKeyForm(request.POST or None, resellers=resellers, platform=actor.is_platform)
    # Shown once: kept in the session only until the page after the redirect reads it.
    raw_key = request.session.pop(NEW_KEY_SESSION, None) if request.method == "GET" else None
    if request.method == "POST" and form.is_bound:
        form.is_valid()  # then the company too: every error in one round trip
        company_id = _company_id(form, actor)
        created = _create_key(form, actor, company_id) if not form.errors else None
        if created is not None:
            request.session[NEW_KEY_SESSION] = created
            return redirect("accounts:api_keys")
    keys = api_key_list_for_actor(actor).select_related("reseller", "company")
    context = {
        "form": form,
        "keys": keys,
        "raw_key": raw_key,
        "company_options": company_pick_labels(actor) if actor.can_write else [],
    }
    return render(request, "accounts/api_keys.html", context)


def _create_key(form: ApiKeyForm, actor: Actor, company_id: int | None) -> str | None:
    """The new raw key, or None with the service's refusal at its field (input kept)."""
    cd = form.cleaned_data
    try:
        _, raw_key = api_key_create(
            actor=actor,
            scope=cd["scope"],
            reseller_id=cd.get("reseller_id") if actor.is_platform else actor.reseller_id,
            company_id=company_id,
            name=cd.get("name") or "",
        )
    except ValidationFailed as exc:
        form_add_domain_errors(form, exc, aliases={"company_id": "company"})
        return None
    except NotFound:  # a company another tenant owns reads as one that does not exist
        form.add_error("company", wording.COMPANY_NOT_FOUND)
        return None
    return raw_key


def _company_id(form: ApiKeyForm, actor: Actor) -> int | None:
    """The company named in the picker, or None; a name that fits none (or several) is an
    error at the field, with everything typed kept."""
    label = (form.cleaned_data.get("company") or "").strip()
    if not label:
        return None
    found = company_find_by_label(actor, label)
    if len(found) == 1:
        return found[0].pk
    form.add_error("company", wording.COMPANY_NOT_FOUND if not found else wording.COMPANY_AMBIGUOUS)
    return None


@hub_view
@require_POST
def api_key_revoke_view(request: HttpRequest, api_key_id: int) -> HttpResponse:
    key = api_key_revoke(actor=actor_of(request), api_key_id=api_key_id)
    messages.success(request, f"Revoked key {key.prefix}…; it stops working at once.")
    return redirect("accounts:api_keys")
