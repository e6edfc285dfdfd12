"""Recalculation jobs with a live progress bar, and a company's sale items (SPEC §6)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from partnerhub.accounts.hub import actor_of, form_add_domain_errors, hub_view
from partnerhub.companies.selectors import (
    company_count_on_own_fees,
    company_get_for_actor,
    company_name,
)
from partnerhub.core import wording
from partnerhub.core.errors import ValidationFailed
from partnerhub.core.money import minor_to_major_str
from partnerhub.fees.forms import SaleItemForm
from partnerhub.fees.models import RecalcJob
from partnerhub.fees.selectors import (
    job_get_for_actor,
    job_list_for_actor,
    job_serialize,
    sale_item_get_for_actor,
    sale_item_list_for_actor,
    sale_item_most_used_currency,
)
from partnerhub.fees.services import sale_item_create, sale_item_update

FINISHED = (RecalcJob.Status.SUCCEEDED, RecalcJob.Status.FAILED)


def job_progress(job: dict[str, Any]) -> dict[str, Any]:
    """The job's SPEC §12 shape plus what the bar shows: percent done, finished or not."""
    if job["status"] == RecalcJob.Status.SUCCEEDED:
        percent = 100
    elif job["items_total"]:
        percent = min(100, job["items_done"] * 100 // job["items_total"])
    elif job["companies_total"]:
        percent = min(100, job["companies_done"] * 100 // job["companies_total"])
    else:
        percent = 0
    finished_at = job["finished_at"]
    shown = (
        datetime.fromisoformat(finished_at.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S UTC")
        if finished_at
        else ""
    )
    return {
        **job,
        "percent": percent,
        "finished": job["status"] in FINISHED,
        "finished_shown": shown,
    }


def job_summary(job: RecalcJob) -> str:
    """What the job recalculates, in words (the job page's heading line)."""
    ids = job.company_ids
    count = len(ids) if ids is not None else job.companies_total
    one_company = job.plan_id is None and ids is not None and len(ids) == 1
    return wording.job_summary(
        plan=job.plan.name if job.plan is not None else None,
        company=(company_name(ids[0]) or f"#{ids[0]}") if one_company and ids else None,
        reseller=job.reseller.name,
        company_count=count,
        left_alone=company_count_on_own_fees(job.plan_id) if job.plan_id is not None else 0,
    )


@hub_view
def job_list(request: HttpRequest) -> HttpResponse:
    jobs = job_list_for_actor(actor_of(request)).select_related("plan", "reseller")[:100]
    rows = [(job, job_progress(job_serialize(job)), _job_title(job)) for job in jobs]
    return render(request, "fees/job_list.html", {"rows": rows})


LAST_CURRENCY_SESSION = "partnerhub_last_sale_item_currency"


def _default_currency(request: HttpRequest, company: Any) -> str | None:
    """The currency this person used last, else the one most of the reseller's sale items
    use (issue #13: not the first in the list every time)."""
    last = request.session.get(LAST_CURRENCY_SESSION)
    return last if isinstance(last, str) else sale_item_most_used_currency(company.reseller_id)


def _job_title(job: RecalcJob) -> str:
    """A list row's words for what the job recalculates (no query per row)."""
    ids = job.company_ids
    if job.plan is not None:
        return f"Fees of plan {job.plan.name}"
    if ids is not None and len(ids) == 1:
        return "Fees of one company"
    return f"Reseller fees of {job.reseller.name}"


@hub_view
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = job_get_for_actor(actor_of(request), job_id)
    context = {
        "job": job,
        "progress": job_progress(job_serialize(job)),
        "summary": job_summary(job),
    }
    return render(request, "fees/job_detail.html", context)


@hub_view
def job_progress_fragment(request: HttpRequest, job_id: int) -> HttpResponse:
    """Polled every second by the job page until the job finishes."""
    job = job_get_for_actor(actor_of(request), job_id)
    return render(request, "fees/_progress.html", {"progress": job_progress(job_serialize(job))})


@hub_view
def sale_items(request: HttpRequest, company_id: int) -> HttpResponse:
    actor = actor_of(request)
    company = company_get_for_actor(actor, company_id)
    form = SaleItemForm(
        request.POST or None, initial={"currency": _default_currency(request, company)}
    )
    if request.method == "POST" and form.is_valid():
        try:
            item = sale_item_create(actor=actor, company_id=company.pk, data=form.item_data())
        except ValidationFailed as exc:
            form_add_domain_errors(form, exc, aliases={"price_minor": "price"})
        else:
            request.session[LAST_CURRENCY_SESSION] = form.cleaned_data["currency"]
            messages.success(request, f'Added "{item.name}".')
            return redirect("fees:sale_items", company_id=company.pk)
    items = sale_item_list_for_actor(actor, company.pk).select_related("fee_type")
    return render(
        request, "fees/sale_items.html", {"company": company, "items": items, "form": form}
    )


@hub_view
def sale_item_edit(request: HttpRequest, item_id: int) -> HttpResponse:
    """Editing an item recomputes its fees from the company's current schedule."""
    actor = actor_of(request)
    item = sale_item_get_for_actor(actor, item_id)
    initial = {
        "name": item.name,
        "external_ref": item.external_ref,
        "currency": item.currency_id,
        "fee_type": item.fee_type_id,
        "price": minor_to_major_str(item.price_minor, item.currency_id),
    }
    form = SaleItemForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid() and not form.has_changed():
        # Posted back unchanged: not an edit, so nothing is written or recomputed.
        messages.info(request, f'No changes to "{item.name}".')
        return redirect("fees:sale_items", company_id=item.company_id)
    if request.method == "POST" and form.is_valid():
        try:
            item = sale_item_update(actor=actor, item_id=item.pk, changes=form.item_data())
        except ValidationFailed as exc:
            form_add_domain_errors(form, exc, aliases={"price_minor": "price"})
        else:
            messages.success(request, f'Saved "{item.name}"; its fees were recomputed.')
            return redirect("fees:sale_items", company_id=item.company_id)
    return render(request, "fees/sale_item_edit.html", {"item": item, "form": form})
