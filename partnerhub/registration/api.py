"""REST API twin of the self-service registration form (SPEC §7): no key, rate-limited."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Router, Status
from pydantic import StringConstraints

from partnerhub.companies.models import COMPANY_NAME_MAX_LENGTH
from partnerhub.core.http import client_address
from partnerhub.core.schemas import (
    VALID_UNICODE,
    ErrorOut,
    InputSchema,
    ObjectId,
    OutputSchema,
    bounded,
)
from partnerhub.core.validation import EMAIL_MAX_LENGTH
from partnerhub.plans.selectors import gst_rate_bps, plan_public_catalog, plan_public_serialize
from partnerhub.registration.ratelimit import registration_rate_check
from partnerhub.registration.services import company_register
from partnerhub.resellers.models import RESELLER_SLUG_MAX_LENGTH
from partnerhub.resellers.selectors import reseller_get_by_slug

router = Router(tags=["registration"])

ResellerSlug = Annotated[
    str, StringConstraints(min_length=1, max_length=RESELLER_SLUG_MAX_LENGTH, pattern=r"^[-\w]+$")
]


class RegistrationIn(InputSchema):
    company_name: Annotated[str, bounded(COMPANY_NAME_MAX_LENGTH, min_length=1), VALID_UNICODE]
    contact_email: Annotated[str, bounded(EMAIL_MAX_LENGTH, min_length=1), VALID_UNICODE]
    # One of GET /register/{reseller_slug}/plans; omitted: the default registration plan.
    plan_id: ObjectId | None = None
    # One of the plan's cycles; omitted: the first it offers (SPEC §13).
    billing_cycle: Literal["monthly", "quarterly", "yearly"] | None = None


class PublicPriceOut(OutputSchema):
    currency: str
    billing_cycle: str
    amount_minor: int  # minor units, net of tax
    gst_minor: int | None  # minor units; null when the plan has no GST
    gross_minor: int | None  # minor units; null when the plan has no GST


class PublicFeatureOut(OutputSchema):
    key: str
    name: str


class PublicPlanOut(OutputSchema):
    id: int
    display_name: str
    description: str
    plan_type: str
    billing_cycles: list[str]
    prices: list[PublicPriceOut]
    gst_enabled: bool
    features: list[PublicFeatureOut]
    limits: dict[str, int | None]


class PublicPlanList(OutputSchema):
    items: list[PublicPlanOut]
    count: int


@router.get(
    "/register/{reseller_slug}/plans",
    auth=None,
    response={200: PublicPlanList, 404: ErrorOut},
)
def public_plans(request: HttpRequest, reseller_slug: ResellerSlug) -> dict[str, Any]:
    """The reseller's public plan catalog: its visible plans that can be chosen at
    registration (enabled, not archived, not deleted). Empty without the Plans feature."""
    gst_rate = gst_rate_bps()
    plans = [
        plan_public_serialize(p, gst_rate)
        for p in plan_public_catalog(reseller_get_by_slug(reseller_slug))
    ]
    return {"items": plans, "count": len(plans)}


class RegisteredPlan(OutputSchema):
    id: int
    name: str
    display_name: str


class RegistrationOut(OutputSchema):
    id: int
    reseller_id: int
    name: str
    contact_email: str
    plan: RegisteredPlan | None  # null: the company starts Custom
    use_plan_fees: bool
    billing_cycle: str
    billing_currency: str
    billing_anchor: date


@router.post(
    "/register/{reseller_slug}",
    auth=None,
    response={201: RegistrationOut, 400: ErrorOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut},
)
def register(
    request: HttpRequest, reseller_slug: ResellerSlug, payload: RegistrationIn
) -> Status[dict[str, Any]]:
    """Create a company of the reseller, on its default registration plan when that plan is
    usable, else Custom. Limited per client address: 429 with Retry-After."""
    registration_rate_check(client_address(request))
    company = company_register(reseller_slug=reseller_slug, **payload.model_dump())
    plan = company.plan
    return Status(
        201,
        {
            "id": company.pk,
            "reseller_id": company.reseller_id,
            "name": company.name,
            "contact_email": company.contact_email,
            "plan": (
                {"id": plan.pk, "name": plan.name, "display_name": plan.display_name}
                if plan is not None
                else None
            ),
            "use_plan_fees": company.use_plan_fees,
            "billing_cycle": company.billing_cycle,
            "billing_currency": company.billing_currency,
            "billing_anchor": company.billing_anchor,
        },
    )
