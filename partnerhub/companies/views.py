"""Companies (SPEC §5): list, and the edit page with plan, features, limits and fees."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from partnerhub.accounts.hub import actor_of, form_add_domain_errors, hub_view
from partnerhub.catalog.choices import (
    currency_codes,
    fee_type_choices,
    limit_rows,
    plan_dropdown_choices,
)
from partnerhub.companies.fee_changes import company_plan_change_recalculation
from partnerhub.companies.forms import CompanyCreateForm, CompanyForm
from partnerhub.companies.selectors import (
    company_deviates_from_plan,
    company_get_for_actor,
    company_list_for_actor,
    company_serialize,
    resolve_entitlements,
)
from partnerhub.companies.services import (
    company_create,
    company_reset_plan_fees,
    company_resync_plan,
    company_update,
)
from partnerhub.companies.terms import plan_currencies, plan_cycles
from partnerhub.core import wording
from partnerhub.core.errors import FeatureUnavailable, ValidationFailed
from partnerhub.fees.apply import APPLY_ALL, APPLY_NEW, FeeApplyModeRequired
from partnerhub.fees.schedules import schedule_snapshot
from partnerhub.plans.selectors import plan_assignable_for_reseller, plan_list_for_actor
from partnerhub.resellers.selectors import reseller_get_for_actor, reseller_list_for_actor
from partnerhub.usage.selectors import company_usage, usage_bars

PAGE_SIZE = 50


def inherit_message(plan_display_name: str, use_plan_fees: bool) -> str:
    return wording.inherit_fees(plan_display_name, use_plan_fees)


@hub_view
def company_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    search = request.GET.get("q", "").strip()
    plan_raw = request.GET.get("plan", "")
    plan_id = int(plan_raw) if plan_raw.isdigit() else None
    custom = True if plan_raw == "custom" else None
    companies = company_list_for_actor(
        actor, search=search or None, plan_id=plan_id, custom=custom
    ).select_related("reseller")
    page = Paginator(companies, PAGE_SIZE).get_page(request.GET.get("page"))
    plans = _plan_filter_choices(actor)
    return render(
        request,
        "companies/list.html",
        {"page": page, "search": search, "plan_filter": plan_raw, "plans": plans},
    )


def _plan_filter_choices(actor: Any) -> list[Any]:
    """Every live plan the actor sees (archived ones too), for the filter."""
    try:
        return list(plan_list_for_actor(actor, archived="all"))
    except FeatureUnavailable:  # no Plans section: companies are still listed
        return []


def _form(company: Any, actor: Any, data: Any = None) -> CompanyForm:
    reseller = company.reseller
    plan_choices = plan_dropdown_choices(
        plan_assignable_for_reseller(actor, reseller.pk),
        company.plan,
        none_label="Custom (no plan)",
        offer_plans=reseller.has_plans_feature(),
    )
    feature_names = {f.key: f.name for f in reseller.features.all()}
    plan_keys = sorted(f.key for f in company.plan.features.all()) if company.plan else []
    plan_keys = [k for k in plan_keys if k in feature_names]
    other = [(k, n) for k, n in sorted(feature_names.items()) if k not in plan_keys]
    kwargs: dict[str, Any] = {
        "company": company,
        "plan_choices": plan_choices,
        "plan_features": [(k, feature_names[k]) for k in plan_keys],
        "other_features": other,
        "limits": [(key, name) for key, name, _ in limit_rows()],
        "currencies": currency_codes(),
        "fee_types": fee_type_choices(),
        "term_choices": (plan_cycles(company.plan), plan_currencies(company.plan)),
    }
    if data is not None:
        return CompanyForm(data, **kwargs)
    initial = CompanyForm.initial_from_company(company_serialize(company), plan_keys)
    return CompanyForm(initial=initial, **kwargs)


def _custom_keeps(form: CompanyForm, plan: Any, entitlements: Any) -> str:
    """Shown when the plan select is set to Custom, before saving (issue #13)."""
    names = dict(form.fields["kept_plan_features"].choices)  # type: ignore[attr-defined]
    kept = [
        str(names.get(f["key"], f["key"])) for f in entitlements.features if f["source"] == "plan"
    ]
    return wording.custom_keeps(plan.name, kept)


def _page(
    request: HttpRequest,
    company: Any,
    form: CompanyForm,
    *,
    ask_mode: bool = False,
    forced_mode: bool = False,
    reset_ask: bool = False,
    status: int = 200,
) -> HttpResponse:
    actor = actor_of(request)
    entitlements = resolve_entitlements(company)
    usage = company_usage(actor, company.pk)
    plan = company.plan
    plan_fees = schedule_snapshot(plan.fee_schedule_id) if plan else None
    context = {
        "company": company,
        "form": form,
        "entitlements": entitlements,
        "limits": [
            (
                form[f"override_{key}"],
                form[f"unlimited_{key}"],
                entitlements.limits.get(key, {}),
                plan.limits.get(key) if plan else None,
                key in (plan.limits if plan else {}),
            )
            for key in form.limit_keys
        ],
        "plan": plan,
        "plan_fees": plan_fees.entries_as_dicts() if plan_fees else [],
        "plan_blended": plan_fees.blended_dict() if plan_fees else {},
        "fee_type_names": dict(form.fee_type_choices),  # the names the input table uses
        "inherit_message": (
            inherit_message(plan.display_name, company.use_plan_fees) if plan else ""
        ),
        "inherit_on": inherit_message(plan.display_name, True) if plan else "",
        "inherit_off": inherit_message(plan.display_name, False) if plan else "",
        "custom_keeps": _custom_keeps(form, plan, entitlements) if plan else "",
        "read_only": not actor.can_write,
        "deviates": company_deviates_from_plan(company),
        "ask_mode": ask_mode,
        "forced_mode": forced_mode,
        "plans_offered": company.reseller.has_plans_feature(),
        "reset_ask": reset_ask,
        "apply_all": APPLY_ALL,
        "apply_new": APPLY_NEW,
        "usage": usage,
        "usage_bars": usage_bars(usage),
    }
    return render(request, "companies/edit.html", context, status=status)


@hub_view
def company_edit(request: HttpRequest, company_id: int) -> HttpResponse:
    actor = actor_of(request)
    company = company_get_for_actor(actor, company_id)
    if request.method != "POST":
        return _page(request, company, _form(company, actor))
    actor.require_write(company.reseller_id)
    form = _form(company, actor, request.POST)
    form.is_valid()  # then the fee table and limits too: every error in one round trip
    changes = form.changes()
    if form.errors:
        return _page(request, company, form)
    mode = form.cleaned_data.get("fee_apply_mode") or None
    if mode is None and request.POST.get("confirmed") != "1":
        # Assigning or replacing a plan changes the fee schedule: ask first, as the plan
        # editor does (SPEC §6), or warn when blended changes force a recalculation.
        recalculation = company_plan_change_recalculation(company, changes["plan_id"])
        if recalculation != "none":
            return _page(
                request,
                company,
                form,
                ask_mode=recalculation == "ask",
                forced_mode=recalculation == "forced",
            )
    try:
        result = company_update(
            actor=actor, company_id=company.pk, changes=changes, fee_apply_mode=mode
        )
    except FeeApplyModeRequired:
        return _page(request, company, form, ask_mode=True)
    except ValidationFailed as exc:
        details = exc.details if isinstance(exc.details, dict) else {}
        rest = form.split_fee_errors(details)
        if rest or not details:
            form_add_domain_errors(
                form,
                ValidationFailed(exc.message, details=rest or None),
                aliases={"plan_id": "plan_id"},
            )
        return _page(request, company, form, status=422)
    messages.success(request, f'Saved "{result.company.name}".')
    if result.job is not None:
        return redirect("fees:job_detail", job_id=result.job.pk)
    return redirect("companies:edit", company_id=company.pk)


@hub_view
@require_POST
def company_resync(request: HttpRequest, company_id: int) -> HttpResponse:
    company = company_resync_plan(actor=actor_of(request), company_id=company_id)
    messages.success(request, f'"{company.name}" has every feature of its plan again.')
    return redirect("companies:edit", company_id=company_id)


@hub_view
@require_POST
def company_reset_fees(request: HttpRequest, company_id: int) -> HttpResponse:
    actor = actor_of(request)
    mode = request.POST.get("fee_apply_mode") or None
    try:
        result = company_reset_plan_fees(actor=actor, company_id=company_id, fee_apply_mode=mode)
    except FeeApplyModeRequired:
        company = company_get_for_actor(actor, company_id)
        return _page(request, company, _form(company, actor), reset_ask=True)
    messages.success(request, f'"{result.company.name}" uses its plan\'s fees again.')
    if result.job is not None:
        return redirect("fees:job_detail", job_id=result.job.pk)
    return redirect("companies:edit", company_id=company_id)


@hub_view
def company_new(request: HttpRequest) -> HttpResponse:
    """Create a company, optionally on a plan (the seed: "during company creation")."""
    actor = actor_of(request)
    actor.require_write()
    source = request.POST if request.method == "POST" else request.GET
    raw = str(actor.reseller_id or source.get("reseller", ""))
    if not raw.isdigit():
        resellers = reseller_list_for_actor(actor)
        return render(request, "companies/choose_reseller.html", {"resellers": resellers})
    reseller_id = int(raw)
    reseller = reseller_get_for_actor(actor, reseller_id)
    form = CompanyCreateForm(
        request.POST or None,
        plan_choices=plan_dropdown_choices(
            plan_assignable_for_reseller(actor, reseller_id),
            None,
            none_label="Custom (no plan)",
            offer_plans=reseller.has_plans_feature(),
        ),
    )
    if request.method == "POST" and form.is_valid():
        try:
            company = company_create(actor=actor, reseller_id=reseller_id, **form.company_data())
        except ValidationFailed as exc:
            form_add_domain_errors(form, exc)
        else:
            messages.success(request, f'Created "{company.name}".')
            return redirect("companies:edit", company_id=company.pk)
    return render(request, "companies/new.html", {"form": form, "reseller_id": reseller_id})
