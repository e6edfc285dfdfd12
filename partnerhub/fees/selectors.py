"""Reading sale items and recalculation jobs, tenant-scoped, and their SPEC §12 shapes."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from partnerhub.companies.models import Company
from partnerhub.companies.selectors import company_get_for_actor
from partnerhub.core.actor import Actor, company_scope, reseller_scope
from partnerhub.core.errors import NotFound
from partnerhub.fees.models import RecalcJob, SaleItem


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _item_scope(actor: Actor) -> Q:
    # A sale item is its company's: the company rule on the item's own fields.
    return company_scope(actor, company="company_id", reseller="company__reseller_id")


def sale_item_list_for_actor(actor: Actor, company_id: int) -> QuerySet[SaleItem]:
    """The company's items, oldest first; NotFound for a company the actor cannot see."""
    company_get_for_actor(actor, company_id)
    return SaleItem.objects.filter(company_id=company_id).order_by("id")


def sale_item_get_for_actor(actor: Actor, item_id: int) -> SaleItem:
    item = SaleItem.objects.filter(_item_scope(actor), pk=item_id).first()
    if item is None:
        raise NotFound("Sale item not found.")
    return item


def sale_item_serialize(item: SaleItem) -> dict[str, Any]:
    return {
        "id": item.pk,
        "company_id": item.company_id,
        "external_ref": item.external_ref,
        "name": item.name,
        "currency": item.currency_id,
        "fee_type": item.fee_type_id,
        "price_minor": item.price_minor,  # minor units
        "reseller_fee_minor": item.reseller_fee_minor,  # minor units
        "gateway_fee_minor": item.gateway_fee_minor,  # minor units
        "blended": item.blended,
        "fee_revision": item.fee_revision,
        "fees_updated_at": _iso(item.fees_updated_at),
    }


def job_get_for_actor(actor: Actor, job_id: int) -> RecalcJob:
    job = RecalcJob.objects.filter(reseller_scope(actor), pk=job_id).first()
    if job is None:
        raise NotFound("Job not found.")
    return job


def job_list_for_actor(
    actor: Actor,
    *,
    reseller_id: int | None = None,
    plan_id: int | None = None,
    status: str | None = None,
) -> QuerySet[RecalcJob]:
    """Newest first."""
    qs = RecalcJob.objects.filter(reseller_scope(actor))
    if reseller_id is not None:
        qs = qs.filter(reseller_id=reseller_id)
    if plan_id is not None:
        qs = qs.filter(plan_id=plan_id)
    if status is not None:
        qs = qs.filter(status=status)
    return qs.order_by("-id")


def job_serialize(job: RecalcJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "reseller_id": job.reseller_id,
        "plan_id": job.plan_id,
        "reason": job.reason,
        "companies_total": job.companies_total,
        "companies_done": job.companies_done,
        "items_total": job.items_total,
        "items_done": job.items_done,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "error": job.error,
        # A later job for the same plan did this one's work (it ends succeeded, 0 of 0).
        "superseded_by": job.superseded_by_id,
    }


def sale_item_most_used_currency(reseller_id: int, *, recent: int = 500) -> str | None:
    """The currency most of the reseller's latest `recent` sale items are priced in (ties:
    by code). Bounded so a reseller with millions of items costs one short index scan."""
    codes = list(
        SaleItem.objects.filter(company__reseller_id=reseller_id)
        .order_by("-id")
        .values_list("currency_id", flat=True)[:recent]
    )
    if not codes:
        return None
    counts = Counter(str(code) for code in codes)
    return min(counts, key=lambda code: (-counts[code], code))


def sale_item_fee_totals(companies: QuerySet[Company]) -> Any:
    """Per currency, the items of `companies` (a scoped queryset, e.g.
    `companies_for_actor`): `n` items, `reseller` and `gateway` fee sums (minor units)."""
    return (
        SaleItem.objects.filter(company__in=companies.values("id"))
        .values("currency_id")
        .annotate(
            n=Count("id"), reseller=Sum("reseller_fee_minor"), gateway=Sum("gateway_fee_minor")
        )
        .order_by("currency_id")
    )
