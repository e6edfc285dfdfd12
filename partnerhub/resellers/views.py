"""Resellers (platform): the list with enabled features and default registration plan."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from partnerhub.catalog.selectors import feature_list
from partnerhub.core.errors import Conflict, ValidationFailed
from partnerhub.plans.selectors import plan_assignable_for_reseller
from partnerhub.resellers.forms import ResellerForm
from partnerhub.resellers.selectors import (
    reseller_get_for_actor,
    reseller_list_for_actor,
    reseller_serialize,
)
from partnerhub.resellers.services import reseller_create, reseller_update
from partnerhub.web.hub import actor_of, form_add_domain_errors, hub_view


@hub_view
def reseller_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    actor.require_platform()
    resellers = reseller_list_for_actor(actor).select_related("default_registration_plan")
    return render(request, "resellers/list.html", {"resellers": resellers})


def _features() -> list[tuple[str, str]]:
    return [(f.key, f"{f.name}") for f in feature_list()]


def _save(request: HttpRequest, form: ResellerForm, reseller_id: int | None) -> HttpResponse | None:
    actor = actor_of(request)
    data = form.data_for_service()
    try:
        if reseller_id is None:
            reseller = reseller_create(actor=actor, **data)
        else:
            reseller = reseller_update(actor=actor, reseller_id=reseller_id, changes=data).reseller
    except (ValidationFailed, Conflict) as exc:
        if isinstance(exc, ValidationFailed):
            form_add_domain_errors(form, exc)
        else:
            form_add_domain_errors(form, ValidationFailed(exc.message, details=exc.details))
        return None
    messages.success(request, f'Saved reseller "{reseller.name}".')
    return redirect("resellers:list")


@hub_view
def reseller_new(request: HttpRequest) -> HttpResponse:
    actor_of(request).require_platform()
    form = ResellerForm(request.POST or None, features=_features(), plans=[])
    if request.method == "POST" and form.is_valid():
        response = _save(request, form, None)
        if response is not None:
            return response
    return render(request, "resellers/form.html", {"form": form, "reseller": None})


@hub_view
def reseller_edit(request: HttpRequest, reseller_id: int) -> HttpResponse:
    actor = actor_of(request)
    actor.require_platform()
    reseller = reseller_get_for_actor(actor, reseller_id)
    plans = [(str(p.pk), p.name) for p in plan_assignable_for_reseller(actor, reseller.pk)]
    data: dict[str, Any] = reseller_serialize(reseller)
    initial = {
        **data,
        "default_registration_plan_id": str(data["default_registration_plan_id"] or ""),
    }
    form = ResellerForm(request.POST or None, initial=initial, features=_features(), plans=plans)
    if request.method == "POST" and form.is_valid():
        response = _save(request, form, reseller.pk)
        if response is not None:
            return response
    return render(request, "resellers/form.html", {"form": form, "reseller": reseller})
