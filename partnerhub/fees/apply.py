"""The fee apply mode rule, in one place for plans, companies and resellers.

When an edit changes fees that stored sale items were computed from, the caller
chooses: "all" recalculates the existing items, "new" leaves them as they are.
A change of `blended` for any currency always recalculates (no choice offered).
"""

from __future__ import annotations

from typing import Literal

from partnerhub.core.errors import ValidationFailed
from partnerhub.fees.schedules import ScheduleSnapshot, blended_changed_currencies

Recalculation = Literal["none", "ask", "forced"]
FEE_APPLY_MODES = ("all", "new")


def recalculation_needed(before: ScheduleSnapshot, after: ScheduleSnapshot) -> Recalculation:
    if after == before:
        return "none"
    return "forced" if blended_changed_currencies(before, after) else "ask"


def check_fee_apply_mode(fee_apply_mode: str | None) -> None:
    if fee_apply_mode is not None and fee_apply_mode not in FEE_APPLY_MODES:
        raise ValidationFailed.field("fee_apply_mode", "must be 'all' or 'new'")


def should_recalculate(recalculation: Recalculation, fee_apply_mode: str | None) -> bool:
    """True when existing items must be recalculated; a needed but missing choice is a 422."""
    check_fee_apply_mode(fee_apply_mode)
    if recalculation == "none":
        return False
    if recalculation == "forced":
        return True
    if fee_apply_mode is None:
        raise ValidationFailed.field(
            "fee_apply_mode",
            "fees changed: choose 'all' (apply to all items, old and new) or 'new' "
            "(apply only to new/edited items)",
        )
    return fee_apply_mode == "all"
