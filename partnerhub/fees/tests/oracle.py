"""The stored-fee invariant, and a model of which items it binds (docs/architecture.md,
"Stored fees never go stale").

Once the job queue is empty, every item whose fees were last set by a create or a
price edit, or by a change of its company's effective schedule applied to "all"
(or forced: blended changed), equals a fresh quote from that schedule. An item
whose company's effective schedule changed later under "new" keeps what it has.

The model does not ask the services which jobs they enqueued: it compares each
company's effective schedule before and after every operation, so it would
catch a service that forgets a company as well as a job that skips one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from partnerhub.companies.models import Company
from partnerhub.core.errors import DomainError
from partnerhub.fees.models import SaleItem
from partnerhub.fees.schedules import (
    ScheduleSnapshot,
    blended_changed_currencies,
    schedule_snapshot,
)
from partnerhub.fees.terms import item_terms


def effective_snapshots(company_ids: Iterable[int]) -> dict[int, ScheduleSnapshot]:
    companies = Company.objects.filter(pk__in=list(company_ids)).select_related("plan", "reseller")
    return {c.pk: schedule_snapshot(c.effective_fee_schedule_id()) for c in companies}


def stale_items(item_ids: Iterable[int]) -> list[dict[str, Any]]:
    """Items among `item_ids` whose stored fees differ from a fresh quote."""
    wrong = []
    for item in SaleItem.objects.filter(pk__in=list(item_ids)).order_by("pk"):
        terms = item_terms(item.company_id, item.currency_id, item.fee_type_id)
        assert terms is not None
        fresh = terms.fees(item.price_minor)
        stored = (item.reseller_fee_minor, item.gateway_fee_minor, item.blended)
        expected = (fresh.reseller_fee_minor, fresh.gateway_fee_minor, fresh.blended)
        if stored != expected:
            wrong.append(
                {"item": item.pk, "company": item.company_id, "stored": stored, "fresh": expected}
            )
    return wrong


@dataclass
class FeeOracle:
    """Which items the invariant binds, tracked across operations on `company_ids`."""

    company_ids: list[int]
    bound: dict[int, bool] = field(default_factory=dict)  # item id -> must equal a quote

    def schedule_change(self, mode: str, op: Callable[[], Any]) -> Any:
        """Run a fee-schedule or fee-source change made with `mode`; None if it was refused."""
        before = effective_snapshots(self.company_ids)
        try:
            result = op()
        except DomainError:
            return None
        after = effective_snapshots(self.company_ids)
        for company_id in self.company_ids:
            old, new = before[company_id], after[company_id]
            if old == new:
                continue
            applies = mode == "all" or bool(blended_changed_currencies(old, new))
            for item_id in SaleItem.objects.filter(company_id=company_id).values_list(
                "pk", flat=True
            ):
                self.bound[item_id] = applies
        return result

    def priced(self, item_id: int) -> None:
        """An item created, or its price edited: priced from the current schedule."""
        self.bound[item_id] = True

    def violations(self) -> list[dict[str, Any]]:
        return stale_items(item_id for item_id, bound in self.bound.items() if bound)
