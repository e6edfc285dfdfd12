"""A plan or company fee edit, through the lead's services, down to the stored item fees."""

from __future__ import annotations

import pytest

from partnerhub.companies.services import company_update
from partnerhub.fees.models import SaleItem
from partnerhub.fees.recalc import recalculation_run
from partnerhub.fees.services import sale_item_create
from partnerhub.fees.tests.factories import add_fee, set_gateway_fee
from partnerhub.plans.services import plan_update
from partnerhub.testing.factories import CompanyFactory

GBP_TICKET = {"currency": "GBP", "fee_type": "ticket", "percent_bps": 250, "fixed_minor": 30}
ITEM = {"name": "Adult GA", "currency": "GBP", "fee_type": "ticket", "price_minor": 2000}


@pytest.fixture
def world(personas):
    p = personas
    add_fee(p.plan_a.fee_schedule_id, "GBP", "ticket", 250, 30)
    set_gateway_fee("GBP", 200, 8)
    p.own = CompanyFactory(reseller=p.reseller_a, plan=p.plan_a)
    company_update(actor=p.admin_a, company_id=p.own.pk, changes={"use_plan_fees": False})
    p.item = sale_item_create(actor=p.admin_a, company_id=p.company_a.pk, data=ITEM)
    p.own_item = sale_item_create(actor=p.admin_a, company_id=p.own.pk, data=ITEM)
    return p


def _fees(item: SaleItem) -> tuple[int, int, bool, int]:
    item.refresh_from_db()
    return (item.reseller_fee_minor, item.gateway_fee_minor, item.blended, item.fee_revision)


def _edit_plan(p, changes, mode):
    p.plan_a.refresh_from_db()
    return plan_update(
        actor=p.admin_a,
        plan_id=p.plan_a.pk,
        version=p.plan_a.version,
        changes=changes,
        fee_apply_mode=mode,
    )


def test_plan_fee_edit_applied_to_all_items_reprices_them_once_the_job_ran(world) -> None:
    result = _edit_plan(world, {"fees": [{**GBP_TICKET, "percent_bps": 500}]}, "all")
    assert _fees(world.item) == (80, 48, False, 1)  # not in the request: in the job

    recalculation_run(job_id=result.job.pk)

    assert _fees(world.item) == (130, 48, False, 2)
    assert _fees(world.own_item) == (80, 48, False, 1)  # off plan fees: never touched


def test_plan_fee_edit_for_new_items_only_leaves_stored_fees(world) -> None:
    result = _edit_plan(world, {"fees": [{**GBP_TICKET, "percent_bps": 500}]}, "new")

    assert result.job is None
    assert _fees(world.item) == (80, 48, False, 1)
    fresh = sale_item_create(actor=world.admin_a, company_id=world.company_a.pk, data=ITEM)
    assert (fresh.reseller_fee_minor, fresh.fee_revision) == (130, 1)


def test_blended_change_reprices_all_items_even_when_new_only_was_asked(world) -> None:
    result = _edit_plan(world, {"blended": {"GBP": True}}, "new")

    recalculation_run(job_id=result.job.pk)

    assert _fees(world.item) == (80, 48, True, 2)


def test_company_leaving_plan_fees_for_its_own_edited_schedule_is_repriced(world) -> None:
    result = company_update(
        actor=world.admin_a,
        company_id=world.company_a.pk,
        changes={"use_plan_fees": False, "fees": [{**GBP_TICKET, "percent_bps": 0}]},
        fee_apply_mode="all",
    )

    recalculation_run(job_id=result.job.pk)

    assert _fees(world.item) == (30, 48, False, 2)
