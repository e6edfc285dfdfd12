"""The plans screens (SPEC §8): list, create in two steps, edit with its dialogs, actions."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from partnerhub.accounts.hub import actor_of, hub_view, is_htmx
from partnerhub.catalog.choices import currency_codes, fee_type_choices, limit_rows
from partnerhub.core import wording
from partnerhub.core.actor import Actor
from partnerhub.core.errors import Conflict, ValidationFailed
from partnerhub.fees.apply import APPLY_ALL, APPLY_NEW, FeeApplyModeRequired
from partnerhub.plans import services
from partnerhub.plans.forms import PlanForm, PlanFormCatalog, RestoreForm
from partnerhub.plans.models import PlanType
from partnerhub.plans.selectors import (
    gst_rate_bps,
    plan_get_for_actor,
    plan_list_for_actor,
    plan_name_clash,
    plan_prices,
    plan_serialize,
    require_plans_feature,
)
from partnerhub.resellers.models import Reseller
from partnerhub.resellers.selectors import reseller_get_for_actor, reseller_list_for_actor

ARCHIVE_TOOLTIP = wording.ARCHIVE_HELP
# One line under each toggle of a plan card: what the setting does.
TOGGLE_HELP = {"status_help": wording.STATUS_HELP, "visibility_help": wording.VISIBILITY_HELP}
STALE_EDIT = (
    "Someone else saved this plan while you were editing it. Your changes were not saved "
    "and are still in the form below: review them and click Save changes again to save "
    "them over the other person's version."
)

# What "Next" on step 1 says before the browser moves on (hub.js), in the server's words.
STEP_MESSAGES = {
    "name": wording.enter("plan name"),
    "display-name": wording.enter("plan display name"),
    "cycles": wording.CHOOSE_BILLING_CYCLE,
    "currency": wording.ADD_PRICE_CURRENCY,
    "price": wording.enter_price("{cycle}", "{currency}"),
    "share": wording.ENTER_REVENUE_SHARE,
}


def delete_confirmation(name: str) -> str:
    return wording.delete_plan_confirmation(name)


# ---- list -------------------------------------------------------------------------------


def _list_filters(request: HttpRequest, actor: Actor) -> dict[str, Any]:
    get = request.GET
    archived = get.get("archived", "hide")
    reseller = get.get("reseller", "")
    return {
        "name": get.get("name", "").strip(),
        "plan_type": get.get("plan_type", "") if get.get("plan_type") in PlanType.values else "",
        "archived": archived if archived in ("hide", "all", "only") else "hide",
        "deleted": get.get("deleted") == "1",
        "reseller": int(reseller) if actor.is_platform and reseller.isdigit() else None,
    }


@hub_view
def plan_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    f = _list_filters(request, actor)
    plans = list(
        plan_list_for_actor(
            actor,
            reseller_id=f["reseller"],
            name=f["name"] or None,
            plan_type=f["plan_type"] or None,
            archived=f["archived"],
            deleted=f["deleted"],
        ).select_related("reseller")  # the platform's cards name their reseller
    )
    gst_rate = gst_rate_bps()
    for plan in plans:  # net, GST and gross of each price (SPEC §4)
        plan.price_entries = plan_prices(plan, gst_rate)  # type: ignore[attr-defined]
    context = {
        "plans": plans,
        "filters": f,
        "filtered": bool(f["name"] or f["plan_type"] or f["archived"] != "hide" or f["deleted"]),
        "plan_types": PlanType.choices,
        "resellers": list(reseller_list_for_actor(actor)) if actor.is_platform else [],
        "archive_tooltip": ARCHIVE_TOOLTIP,
        **TOGGLE_HELP,
        "back": request.get_full_path(),
    }
    template = "plans/_grid.html" if is_htmx(request) else "plans/list.html"
    return render(request, template, context)


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("plans:list")


@hub_view
@require_POST
def plan_toggle(request: HttpRequest, plan_id: int, flag: str) -> HttpResponse:
    """The Status and Visibility toggles, in place (HTMX) or as a plain form post."""
    actor = actor_of(request)
    value = request.POST.get("value") == "on"
    if flag == "enabled":
        plan = services.plan_set_enabled(actor=actor, plan_id=plan_id, enabled=value)
    else:
        plan = services.plan_set_visible(actor=actor, plan_id=plan_id, visible=value)
    if is_htmx(request):
        return render(request, "plans/_toggle.html", {"plan": plan, "flag": flag, **TOGGLE_HELP})
    return redirect(_back(request))


@hub_view
@require_POST
def plan_action(request: HttpRequest, plan_id: int, action: str) -> HttpResponse:
    actor = actor_of(request)
    if action == "duplicate":
        copy = services.plan_duplicate(actor=actor, plan_id=plan_id)
        messages.success(request, f'Created "{copy.name}" (disabled until you turn it on).')
    elif action == "archive":
        plan = services.plan_archive(actor=actor, plan_id=plan_id)
        messages.success(request, f'Archived "{plan.name}".')
    elif action == "unarchive":
        plan = services.plan_unarchive(actor=actor, plan_id=plan_id)
        messages.success(request, f'Unarchived "{plan.name}".')
    elif action == "delete":
        plan = services.plan_delete(actor=actor, plan_id=plan_id)
        messages.success(request, f'Deleted "{plan.name}". Its companies are now set to "Custom".')
    return redirect(_back(request))


@hub_view
def plan_restore_form(request: HttpRequest, plan_id: int) -> HttpResponse:
    """Restore from the deleted filter; a name clash asks for a new name."""
    actor = actor_of(request)
    plan = plan_get_for_actor(actor, plan_id)
    form = RestoreForm(request.POST or None)
    if request.method == "POST":
        new_name = form.cleaned_data["new_name"] if form.is_valid() else None
        if new_name is not None or "new_name" not in request.POST:
            try:
                services.plan_restore(actor=actor, plan_id=plan_id, new_name=new_name)
            except Conflict as exc:
                details = exc.details if isinstance(exc.details, dict) else {}
                form = RestoreForm(initial={"new_name": details.get("suggested_name", "")})
                message = (
                    wording.name_taken("plan", new_name or plan.name, _suggestion(exc))
                    if exc.code == "name_taken"
                    else exc.message
                )
                return render(
                    request,
                    "plans/restore.html",
                    {"plan": plan, "form": form, "message": message},
                    status=409,
                )
            except ValidationFailed as exc:
                form.add_error("new_name", exc.message)
            else:
                messages.success(request, f'Restored "{new_name or plan.name}".')
                return redirect(reverse("plans:list") + "?deleted=1")
    return render(request, "plans/restore.html", {"plan": plan, "form": form})


# ---- create and edit ---------------------------------------------------------------------


def _catalog(reseller: Reseller) -> PlanFormCatalog:
    return PlanFormCatalog(
        currencies=currency_codes(),
        fee_types=fee_type_choices(),
        limits=limit_rows(),
        features=[(f.key, f.name) for f in reseller.features.order_by("key")],
    )


def _reseller_for_create(request: HttpRequest, actor: Actor) -> Reseller | None:
    """A reseller member creates for its own reseller; the platform picks one."""
    source = request.POST if request.method == "POST" else request.GET
    raw = str(actor.reseller_id or source.get("reseller", ""))
    if not raw.isdigit():
        return None
    reseller = reseller_get_for_actor(actor, int(raw))
    require_plans_feature(actor, reseller)
    return reseller


@hub_view
def plan_new(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    actor.require_write()
    reseller = _reseller_for_create(request, actor)
    if reseller is None:
        return render(
            request,
            "plans/choose_reseller.html",
            {"resellers": reseller_list_for_actor(actor)},
        )
    form = PlanForm(request.POST or None, catalog=_catalog(reseller))
    if request.method == "POST" and _checked(form, reseller.pk):
        data = form.plan_data()
        try:
            plan = services.plan_create(actor=actor, reseller_id=reseller.pk, data=data)
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        except Conflict as exc:
            form.add_name_taken(data["name"], _suggestion(exc))
        else:
            messages.success(request, f'Created plan "{plan.name}".')
            return redirect("plans:list")
    return render(
        request,
        "plans/form.html",
        {
            "form": form,
            "reseller": reseller,
            "creating": True,
            "gst_rate_bps": gst_rate_bps(),
            "step_messages": STEP_MESSAGES,
        },
    )


@hub_view
def plan_edit(request: HttpRequest, plan_id: int) -> HttpResponse:
    actor = actor_of(request)
    plan = plan_get_for_actor(actor, plan_id)
    catalog = _catalog(plan.reseller)
    if request.method != "POST":
        form = PlanForm(initial=PlanForm.initial_from_plan(plan_serialize(plan)), catalog=catalog)
        return _edit_page(request, plan, form)
    actor.require_write(plan.reseller_id)
    form = PlanForm(request.POST, catalog=catalog)
    if not _checked(form, plan.reseller_id, exclude_pk=plan.pk):
        return _edit_page(request, plan, form)
    changes = form.plan_data()
    confirmed = request.POST.get("confirmed") == "1"
    try:
        if not confirmed:
            preview = services.plan_preview(actor=actor, plan_id=plan.pk, changes=changes)
            if preview.removed_features or preview.recalculation != "none":
                return _edit_page(request, plan, form, preview=preview)
        result = services.plan_update(
            actor=actor,
            plan_id=plan.pk,
            changes=changes,
            version=form.cleaned_data.get("version") or 0,
            fee_apply_mode=form.cleaned_data.get("fee_apply_mode") or None,
        )
    except FeeApplyModeRequired as exc:
        # The choice was not made: ask again, with the dialog open.
        form.add_service_errors(exc)
        preview = services.plan_preview(actor=actor, plan_id=plan.pk, changes=changes)
        return _edit_page(request, plan, form, preview=preview)
    except ValidationFailed as exc:
        form.add_service_errors(exc)
        return _edit_page(request, plan, form)
    except Conflict as exc:
        return _edit_conflict(request, plan, catalog, exc)
    messages.success(request, f'Saved plan "{result.plan.name}".')
    if result.job is not None:
        return redirect("fees:job_detail", job_id=result.job.pk)
    return redirect("plans:list")


def _checked(form: PlanForm, reseller_id: int, exclude_pk: int | None = None) -> bool:
    """Every check of the form in one pass, a taken name included (issue #13: all errors
    at once, not one layer per submit)."""
    if not form.is_bound:  # an empty POST: the blank form again
        return False
    form.is_valid()
    name = form.cleaned_data.get("name")
    if name:
        suggestion = plan_name_clash(reseller_id, name, exclude_pk=exclude_pk)
        if suggestion is not None:
            form.add_name_taken(name, suggestion)
    return not form.errors


def _suggestion(exc: Conflict) -> str | None:
    details = exc.details if isinstance(exc.details, dict) else {}
    suggestion = details.get("suggested_name")
    return str(suggestion) if suggestion else None


def _edit_conflict(
    request: HttpRequest, plan: Any, catalog: PlanFormCatalog, exc: Conflict
) -> HttpResponse:
    details = exc.details if isinstance(exc.details, dict) else {}
    if exc.code != "stale_version":
        form = PlanForm(request.POST, catalog=catalog)
        form.is_valid()
        if exc.code == "name_taken":
            form.add_name_taken(str(form.cleaned_data.get("name") or ""), _suggestion(exc))
        else:
            form.add_error(None, exc.message)
        return _edit_page(request, plan, form, status=409)
    # Keep the person's input; carry the current version so saving again is deliberate.
    data: QueryDict = request.POST.copy()
    data["version"] = str(details.get("version", plan.version))
    data.pop("confirmed", None)
    form = PlanForm(data, catalog=catalog)
    form.is_valid()
    return _edit_page(request, plan, form, stale=True, status=409)


def _edit_page(
    request: HttpRequest,
    plan: Any,
    form: PlanForm,
    *,
    preview: Any = None,
    stale: bool = False,
    status: int = 200,
) -> HttpResponse:
    actor = actor_of(request)
    gst_rate = gst_rate_bps()
    return render(
        request,
        "plans/form.html",
        {
            "form": form,
            "plan": plan,
            # As saved: net, GST and gross of each price (SPEC §4), when the plan has GST.
            "stored_prices": plan_prices(plan, gst_rate) if plan.gst_enabled else [],
            "gst_rate_bps": gst_rate,
            "reseller": plan.reseller,
            "creating": False,
            "read_only": not actor.can_write,
            "preview": preview,
            "stale": stale,
            "stale_message": STALE_EDIT,
            "apply_all": APPLY_ALL,
            "apply_new": APPLY_NEW,
            "delete_confirmation": delete_confirmation(plan.name),
            "step_messages": STEP_MESSAGES,
            "feature_names": dict(form.catalog.features),  # names, not keys, in the dialog
        },
        status=status,
    )


def list_url(**params: Any) -> str:
    return reverse("plans:list") + ("?" + urlencode(params) if params else "")
