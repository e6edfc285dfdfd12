"""Reading resellers: the platform sees all, a reseller member only its own (SPEC §1, §3)."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from partnerhub.catalog.models import Feature
from partnerhub.core.actor import Actor, reseller_scope
from partnerhub.core.errors import NotFound
from partnerhub.fees.models import FeeScheduleEntry
from partnerhub.fees.schedules import snapshot_from_entries
from partnerhub.resellers.models import Reseller


def _with_details(resellers: QuerySet[Reseller]) -> QuerySet[Reseller]:
    """What reseller_serialize reads, in a constant number of queries."""
    return resellers.select_related("fee_schedule").prefetch_related(
        Prefetch("features", queryset=Feature.objects.order_by("key")),
        Prefetch("fee_schedule__entries", queryset=FeeScheduleEntry.objects.all()),
    )


def reseller_list_for_actor(actor: Actor) -> QuerySet[Reseller]:
    return _with_details(
        Reseller.objects.filter(reseller_scope(actor, "pk")).order_by("name", "id")
    )


def reseller_get_for_actor(actor: Actor, reseller_id: int) -> Reseller:
    """Another tenant's reseller is exactly as missing as one that does not exist."""
    if not actor.sees_reseller(reseller_id):
        raise NotFound("Not found.")
    reseller = _with_details(Reseller.objects.filter(pk=reseller_id)).first()
    if reseller is None:
        raise NotFound("Not found.")
    return reseller


def reseller_slug_taken(slug: str, exclude_id: int | None = None) -> bool:
    """Whether another reseller has `slug`. The hub asks before saving, so a taken slug
    shows with every other error at once (issue #13); the service still decides."""
    taken = Reseller.objects.filter(slug=slug)
    if exclude_id is not None:
        taken = taken.exclude(pk=exclude_id)
    return taken.exists()


def reseller_get_by_slug(slug: str) -> Reseller:
    """Public: the self-service registration form names its reseller by slug."""
    reseller = Reseller.objects.filter(slug=str(slug or "")).first()
    if reseller is None:
        raise NotFound("Not found.")
    return reseller


def reseller_serialize(reseller: Reseller) -> dict[str, Any]:
    """The SPEC §12 reseller shape."""
    fees = snapshot_from_entries(reseller.fee_schedule.entries.all())
    return {
        "id": reseller.pk,
        "name": reseller.name,
        "slug": reseller.slug,
        "features": sorted(f.key for f in reseller.features.all()),
        "default_registration_plan_id": reseller.default_registration_plan_id,
        "registration_plan_choice": reseller.registration_plan_choice,
        "fees": fees.entries_as_dicts(),
        "blended": fees.blended_dict(),
    }
