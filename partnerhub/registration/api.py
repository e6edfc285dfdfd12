"""REST API twin of the self-service registration form (SPEC §7): no key, rate-limited."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Router, Status
from pydantic import StringConstraints

from partnerhub.api.schemas import VALID_UNICODE, ErrorOut, InputSchema, OutputSchema, bounded
from partnerhub.core.http import client_address
from partnerhub.registration.ratelimit import registration_rate_check
from partnerhub.registration.services import company_register

router = Router(tags=["registration"])

ResellerSlug = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[-\w]+$")]


class RegistrationIn(InputSchema):
    company_name: Annotated[str, bounded(200, min_length=1), VALID_UNICODE]
    contact_email: Annotated[str, bounded(254, min_length=1), VALID_UNICODE]


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
        },
    )
