"""What company writes announce (SPEC §14): company.created/updated and
company.entitlements_changed, compared in the request.

The data is built here, from companies' own selectors, and written through the
webhooks outbox call (`webhooks.events.event_emit`), which imports no domain app: the
outbox is imported from one direction only (docs/architecture.md, "Layers"). Runs in
the caller's transaction; a change that rolls back leaves no event.
"""

from __future__ import annotations

from typing import Any

from partnerhub.companies.cache import etag_for
from partnerhub.companies.models import Company
from partnerhub.companies.selectors import company_serialize, resolve_entitlements
from partnerhub.webhooks.events import event_emit


def entitlements_changed_data(company_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """company.entitlements_changed's data; the fan-out writes the same (webhooks/fanout.py)."""
    return {"company_id": company_id, "entitlements": body, "etag": etag_for(body)}


def company_entitlements_before(company: Company) -> dict[str, Any]:
    """Take before a company write; pass to `company_changed_announce` after it."""
    return resolve_entitlements(company).as_dict()


def company_changed_announce(
    company: Company, before: dict[str, Any] | None, *, created: bool = False
) -> None:
    """company.created/updated, and company.entitlements_changed if what it gets changed."""
    company = Company.objects.select_related("reseller", "plan").get(pk=company.pk)
    event_emit(
        type="company.created" if created else "company.updated",
        reseller_id=company.reseller_id,
        data=company_serialize(company),
    )
    after = resolve_entitlements(company).as_dict()
    if created or after != before:
        event_emit(
            type="company.entitlements_changed",
            reseller_id=company.reseller_id,
            data=entitlements_changed_data(company.pk, after),
        )
