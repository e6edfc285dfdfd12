"""The seed, recalc and worker commands behind `partnerhub seed|recalc|worker`."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from partnerhub.audit.models import AuditEvent
from partnerhub.catalog.models import GatewayFee
from partnerhub.companies.models import Company
from partnerhub.fees import recalc
from partnerhub.fees.arithmetic import gateway_fee, reseller_fee
from partnerhub.fees.models import FeeScheduleEntry, RecalcJob, SaleItem
from partnerhub.plans.models import Plan

pytestmark = pytest.mark.django_db


def _seed(**counts: int) -> str:
    out = StringIO()
    call_command("seed", stdout=out, **counts)
    return out.getvalue()


def test_seed_builds_plans_companies_and_items_priced_by_the_fee_rule() -> None:
    output = _seed(resellers=2, companies=3, items=40)

    assert "bench-1" in output and "bench-2" in output
    assert Plan.objects.filter(name="bench-plan").count() == 2
    assert Company.objects.filter(plan__name="bench-plan", use_plan_fees=True).count() == 6
    assert SaleItem.objects.count() == 240
    entries = {
        (e.schedule_id, e.currency_id, e.fee_type_id): e for e in FeeScheduleEntry.objects.all()
    }
    gateways = {g.currency_id: g for g in GatewayFee.objects.all()}
    for item in SaleItem.objects.select_related("company__plan"):
        e = entries[(item.company.plan.fee_schedule_id, item.currency_id, item.fee_type_id)]
        g = gateways[item.currency_id]
        assert item.reseller_fee_minor == reseller_fee(
            item.price_minor, e.percent_bps, e.fixed_minor, e.min_minor, e.max_minor
        )
        assert item.gateway_fee_minor == gateway_fee(item.price_minor, g.percent_bps, g.fixed_minor)
        assert (item.blended, item.fee_revision) == (e.blended, 1)
    assert {i.currency_id for i in SaleItem.objects.all()} == {"GBP", "EUR", "JPY"}
    assert AuditEvent.objects.filter(action="seed.create").count() == 2


def test_recalc_plan_enqueues_and_now_runs_it_here() -> None:
    _seed(companies=2, items=5)
    plan = Plan.objects.get()
    out = StringIO()

    call_command("recalc", plan=plan.pk, now=True, stdout=out)

    job = RecalcJob.objects.get()
    assert (job.status, job.companies_done, job.items_done) == ("succeeded", 2, 10)
    assert "items 10/10" in out.getvalue()
    assert set(SaleItem.objects.values_list("fee_revision", flat=True)) == {2}


def test_recalc_resume_finishes_a_job_whose_worker_died() -> None:
    _seed(companies=3, items=4)
    call_command("recalc", plan=Plan.objects.get().pk, stdout=StringIO())
    job = RecalcJob.objects.get()
    recalc.job_claim(job.pk, "dead:1:x")
    RecalcJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    out = StringIO()

    call_command("recalc", resume=True, stdout=out)

    job.refresh_from_db()
    assert (job.status, job.companies_done, job.items_done, job.attempts) == ("succeeded", 3, 12, 2)
    assert f"job {job.pk}: succeeded" in out.getvalue()
    call_command("recalc", resume=True, stdout=(again := StringIO()))
    assert "No unfinished jobs." in again.getvalue()
