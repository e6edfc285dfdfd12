"""Resellers: the platform's list and editor; a reseller's own settings page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from partnerhub.accounts.hub import actor_of, form_add_domain_errors, hub_view
from partnerhub.catalog.choices import plan_dropdown_choices
from partnerhub.catalog.selectors import currency_list, feature_list, fee_type_list
from partnerhub.companies.selectors import FeatureLoss, reseller_feature_loss
from partnerhub.core.actor import Actor
from partnerhub.core.errors import Conflict, ValidationFailed
from partnerhub.fees.apply import APPLY_ALL, APPLY_NEW, FeeApplyModeRequired
from partnerhub.fees.fee_table import FeeTableMixin
from partnerhub.plans.selectors import plan_assignable_for_reseller
from partnerhub.resellers.forms import ResellerForm
from partnerhub.resellers.selectors import (
    reseller_get_for_actor,
    reseller_list_for_actor,
    reseller_serialize,
)
from partnerhub.resellers.services import reseller_create, reseller_update


@hub_view
def reseller_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    actor.require_platform()
    resellers = reseller_list_for_actor(actor).select_related("default_registration_plan")
    return render(request, "resellers/list.html", {"resellers": resellers})


def _form(
    actor: Actor, data: Any = None, initial: Any = None, reseller: Any = None
) -> ResellerForm:
    reseller_id = reseller.pk if reseller is not None else None
    plans = (
        plan_dropdown_choices(
            plan_assignable_for_reseller(actor, reseller.pk),
            reseller.default_registration_plan,
            none_label="None (register as Custom)",
        )
        if reseller is not None
        else []
    )
    return ResellerForm(
        data,
        initial=initial,
        features=[(f.key, f.name) for f in feature_list()],
        plans=plans,
        platform=actor.is_platform,
        currencies=[c.code for c in currency_list()],
        fee_types=[(t.key, t.name) for t in fee_type_list().order_by("id")],
        with_settings=reseller_id is not None,
        reseller_id=reseller_id,
    )


def _page(
    request: HttpRequest,
    form: ResellerForm,
    reseller: Any,
    *,
    ask_mode: bool = False,
    losses: list[FeatureLoss] | None = None,
) -> HttpResponse:
    actor = actor_of(request)
    context = {
        "form": form,
        "reseller": reseller,
        "read_only": not actor.can_write,
        "ask_mode": ask_mode,
        "losses": losses or [],
        "features_confirmed": request.POST.get("confirmed") == "1",
        "apply_all": APPLY_ALL,
        "apply_new": APPLY_NEW,
    }
    return render(request, "resellers/form.html", context)


@hub_view
def reseller_new(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    actor.require_platform()
    form = _form(actor, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            reseller = reseller_create(actor=actor, **form.data_for_service())
        except (ValidationFailed, Conflict) as exc:
            form_add_domain_errors(form, ValidationFailed(exc.message, details=exc.details))
        else:
            messages.success(request, f'Added reseller "{reseller.name}".')
            return redirect("resellers:edit", reseller_id=reseller.pk)
    return _page(request, form, None)


@hub_view
def reseller_edit(request: HttpRequest, reseller_id: int) -> HttpResponse:
    """The platform edits everything; a reseller's admin its default registration plan
    and its own fee schedule (the service decides who may change what)."""
    actor = actor_of(request)
    reseller = reseller_get_for_actor(actor, reseller_id)
    if request.method != "POST":
        data = reseller_serialize(reseller)
        initial = {
            **data,
            "default_registration_plan_id": str(data["default_registration_plan_id"] or ""),
            **FeeTableMixin.fee_initial(data["fees"], data["blended"]),
        }
        return _page(request, _form(actor, initial=initial, reseller=reseller), reseller)
    form = _form(actor, request.POST, reseller=reseller)
    form.is_valid()  # then the fee table too: every error in one round trip
    changes = form.data_for_service()
    if form.errors:
        return _page(request, form, reseller)
    if "features" in changes and request.POST.get("confirmed") != "1":
        # Before a feature goes: the plans and companies that lose it (issue #13).
        removed = sorted(reseller.feature_keys() - set(changes["features"]))
        losses = reseller_feature_loss(reseller.pk, removed) if removed else []
        if losses:
            return _page(request, form, reseller, losses=losses)
    try:
        result = reseller_update(
            actor=actor,
            reseller_id=reseller.pk,
            changes=changes,
            fee_apply_mode=form.cleaned_data.get("fee_apply_mode") or None,
        )
    except FeeApplyModeRequired:
        return _page(request, form, reseller, ask_mode=True)
    except (ValidationFailed, Conflict) as exc:
        details = dict(exc.details) if isinstance(exc.details, dict) else {}
        rest = form.split_fee_errors(details)
        if rest or not details:
            form_add_domain_errors(form, ValidationFailed(exc.message, details=rest or None))
        return _page(request, form, reseller)
    messages.success(request, f'Saved reseller "{result.reseller.name}".')
    if result.job is not None:
        return redirect("fees:job_detail", job_id=result.job.pk)
    return redirect("resellers:edit", reseller_id=reseller.pk)
