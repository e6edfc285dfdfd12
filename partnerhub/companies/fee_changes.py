"""What a change of a company's fees means for its stored sale items (SPEC §6): the
"recalculation needed?" decision, before a write or for a form that asks first.

Not in selectors.py: this decision reads the fee apply choice (fees/apply.py), which
enqueues jobs whose run announces through companies' selectors; the selectors stay
below all of that (docs/architecture.md, "Layers").
"""

from __future__ import annotations

from partnerhub.companies.models import Company
from partnerhub.fees.apply import Recalculation, recalculation_needed
from partnerhub.fees.models import SaleItem
from partnerhub.fees.schedules import ScheduleSnapshot, schedule_snapshot
from partnerhub.plans.models import Plan


def company_fee_change_recalculation(
    company_id: int, before: ScheduleSnapshot, after: ScheduleSnapshot
) -> Recalculation:
    """What a change of one company's effective schedule means for its stored sale items:
    "none" (no change, or no items to recalculate), "ask" (the caller chooses
    fee_apply_mode) or "forced" (blended changed: every item is recalculated)."""
    recalculation = recalculation_needed(before, after)
    if recalculation != "none" and not SaleItem.objects.filter(company_id=company_id).exists():
        return "none"
    return recalculation


def company_plan_change_recalculation(company: Company, plan_id: int | None) -> Recalculation:
    """The same, before assigning the reseller's plan `plan_id` (None: set to Custom), so a
    form can ask or warn first as the plan editor does. Unlinking keeps the fees (SPEC §5);
    an id that is not the reseller's plan answers "none" and the save reports it."""
    if plan_id is None or plan_id == company.plan_id:
        return "none"
    plan = Plan.objects.filter(pk=plan_id, reseller_id=company.reseller_id).first()
    if plan is None:
        return "none"
    before = schedule_snapshot(company.effective_fee_schedule_id())
    return company_fee_change_recalculation(
        company.pk, before, schedule_snapshot(plan.fee_schedule_id)
    )
