"""The fee apply choice, one concept for plans, companies and resellers.

When an edit changes fees that stored sale items were computed from, the caller
chooses: "all" recalculates the existing items, "new" leaves them as they are.
A change of `blended` for any currency always recalculates (no choice offered).
A needed but missing choice raises `FeeApplyModeRequired` (a 422 on `fee_apply_mode`),
which the hub views catch to ask; `fee_change_job` is the one place that turns the
choice into a recalculation job.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from partnerhub.companies.models import Company
from partnerhub.core.actor import Actor
from partnerhub.core.errors import ValidationFailed
from partnerhub.fees.jobs import recalculation_enqueue
from partnerhub.fees.models import RecalcJob
from partnerhub.fees.schedules import ScheduleSnapshot, blended_changed_currencies

Recalculation = Literal["none", "ask", "forced"]
FEE_APPLY_MODES = ("all", "new")
# What the hub forms call the two choices (seed wording).
APPLY_ALL = "Apply to all items (old and new)"
APPLY_NEW = "Apply only to new/edited items"
FEE_APPLY_CHOICES = [("all", APPLY_ALL), ("new", APPLY_NEW)]


MISSING_CHOICE = (
    "fees changed: choose 'all' (apply to all items, old and new) or 'new' "
    "(apply only to new/edited items)"
)


class FeeApplyModeRequired(ValidationFailed):
    """The caller did not make a valid fee apply choice: none where fees changed under
    stored sale items, or one that is neither "all" nor "new". A 422 on `fee_apply_mode`."""

    def __init__(self, message: str = MISSING_CHOICE) -> None:
        super().__init__(f"fee_apply_mode: {message}", details={"fee_apply_mode": [message]})


def recalculation_needed(before: ScheduleSnapshot, after: ScheduleSnapshot) -> Recalculation:
    if after == before:
        return "none"
    return "forced" if blended_changed_currencies(before, after) else "ask"


def check_fee_apply_mode(fee_apply_mode: str | None) -> None:
    if fee_apply_mode is not None and fee_apply_mode not in FEE_APPLY_MODES:
        raise FeeApplyModeRequired("must be 'all' or 'new'")


def should_recalculate(recalculation: Recalculation, fee_apply_mode: str | None) -> bool:
    """True when existing items must be recalculated; a needed but missing choice is a 422."""
    check_fee_apply_mode(fee_apply_mode)
    if recalculation == "none":
        return False
    if recalculation == "forced":
        return True
    if fee_apply_mode is None:
        raise FeeApplyModeRequired()
    return fee_apply_mode == "all"


def fee_change_job(
    *,
    actor: Actor,
    reseller_id: int,
    recalculation: Recalculation,
    fee_apply_mode: str | None,
    reason: str,
    plan_id: int | None = None,
    company_ids: Sequence[int] | None = None,
) -> RecalcJob | None:
    """The recalculation a fee change needs under the caller's choice, or None.

    Scope: `company_ids`, or with `plan_id` the companies using that plan's fees (none
    of them: no job; the choice is still asked, SPEC §6). Raises FeeApplyModeRequired
    when the change needs a choice that was not made."""
    if not should_recalculate(recalculation, fee_apply_mode):
        return None
    if plan_id is not None and not _plan_fees_in_use(plan_id):
        return None  # only companies that use the plan's fees are ever touched
    return recalculation_enqueue(
        actor=actor,
        reseller_id=reseller_id,
        plan_id=plan_id,
        company_ids=company_ids,
        reason=reason,
    )


def _plan_fees_in_use(plan_id: int) -> bool:
    return Company.objects.filter(plan_id=plan_id, use_plan_fees=True).exists()
