"""The worker's half of a change that reaches many companies (SPEC §14).

The change's transaction wrote one `FanOut` with what it overwrote (`before`):
- "plan": the plan's id, name, display_name, features, limits and fees before an edit;
- "excluded_removed" / "direct_removed": {company id: [feature keys]}, company rows the
  edit deleted (an exclusion of a removed feature, a direct copy of an added one);
- "reseller": {"id", "features", "fees"} before a funnel or fee change;
- "limits": [[key, period], …], the limit catalogue before a new limit;
- "all_changed": every company in scope changed (a deleted plan's companies).

Here the companies in scope are compared in batches, each in one transaction that
writes the batch's events and moves the cursor: a worker killed mid-batch rolls the
batch back, and whoever takes the fan-out over (after the lease) redoes just that
batch, so no company is skipped and none is announced twice.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from partnerhub.companies.announce import entitlements_changed_data
from partnerhub.companies.models import Company
from partnerhub.webhooks.entitlements import (
    EntitlementsBatch,
    Substitutions,
    companies_for_resolution,
)
from partnerhub.webhooks.events import NewEvent, events_write
from partnerhub.webhooks.models import FanOut


def _lease() -> timedelta:
    return timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)


def fanout_claim(worker_id: str) -> FanOut | None:
    """The oldest unfinished fan-out nobody else holds (a dead worker's lease runs out)."""
    now = timezone.now()
    if not FanOut.objects.filter(done=False).exists():
        return None  # the common idle case, without taking a write lock (SQLite)
    with transaction.atomic():
        qs = FanOut.objects.filter(done=False).filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now) | Q(claimed_by=worker_id)
        )
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        fanout = qs.order_by("id").first()
        if fanout is None:
            return None
        fanout.claimed_by = worker_id
        fanout.claimed_until = now + _lease()
        fanout.save(update_fields=["claimed_by", "claimed_until"])
    return fanout


def _next_company_ids(fanout: FanOut, batch: int) -> list[int]:
    if fanout.company_ids is not None:
        return sorted(i for i in fanout.company_ids if i > fanout.cursor)[:batch]
    qs: QuerySet[Company] = Company.objects.filter(pk__gt=fanout.cursor)
    if fanout.reseller_id is not None:
        qs = qs.filter(reseller_id=fanout.reseller_id)
    if fanout.plan_id is not None:
        qs = qs.filter(plan_id=fanout.plan_id)
    return list(qs.order_by("pk").values_list("pk", flat=True)[:batch])


def _changed_events(fanout: FanOut, company_ids: list[int]) -> list[NewEvent]:
    companies = list(companies_for_resolution(company_ids).order_by("pk"))
    batch = EntitlementsBatch(companies)
    subs = Substitutions.from_before(fanout.before)
    everyone = bool(fanout.before.get("all_changed"))
    events = []
    for company in companies:
        now = batch.now(company)
        if everyone or batch.before(company, subs) != now:
            events.append(
                NewEvent(
                    type="company.entitlements_changed",
                    reseller_id=company.reseller_id,
                    data=entitlements_changed_data(company.pk, now),
                )
            )
    return events


def fanout_run_batch(*, fanout_id: int, worker_id: str, batch: int | None = None) -> bool:
    """Compare and announce the next batch. False once the fan-out is done (or not ours)."""
    with transaction.atomic():
        fanout = FanOut.objects.select_for_update().get(pk=fanout_id)
        if fanout.done or fanout.claimed_by != worker_id:
            return False
        ids = _next_company_ids(fanout, batch or settings.WEBHOOK_FANOUT_BATCH)
        if ids:
            events = _changed_events(fanout, ids)
            events_write(events)
            fanout.cursor = ids[-1]
            fanout.events_emitted += len(events)
            fanout.claimed_until = timezone.now() + _lease()
        else:
            fanout.done = True
            fanout.claimed_by = ""
            fanout.claimed_until = None
        fanout.save()
        return not fanout.done
