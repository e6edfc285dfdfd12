"""Self-service registration: a public form creates a company of a reseller (SPEC §7)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from partnerhub.companies.models import Company
from partnerhub.companies.services import company_create
from partnerhub.core.actor import Actor, Role
from partnerhub.core.errors import ValidationFailed
from partnerhub.plans.models import Plan
from partnerhub.plans.selectors import plan_registration_choices
from partnerhub.resellers.models import Reseller
from partnerhub.resellers.selectors import reseller_get_by_slug

REGISTRATION_LABEL = "self-service registration"


def _clean_input(company_name: object, contact_email: object) -> tuple[str, str]:
    errors: dict[str, list[str]] = {}
    name = company_name.strip() if isinstance(company_name, str) else ""
    email = contact_email.strip() if isinstance(contact_email, str) else ""
    if not name:
        errors["company_name"] = ["Enter the name of your company."]
    elif len(name) > 200:
        errors["company_name"] = ["The company name must be at most 200 characters."]
    if not email:
        errors["contact_email"] = ["Enter a contact email address."]
    else:
        try:
            validate_email(email)
        except ValidationError:
            errors["contact_email"] = ["Enter a valid email address."]
    if errors:
        raise ValidationFailed("Please correct the registration details.", details=errors)
    return name, email


def registration_plan(reseller: Reseller) -> Plan | None:
    """The reseller's default registration plan, when it may be given right now: the reseller
    has the Plans feature and the plan is assignable and visible (a hidden plan never
    reaches visitors). Otherwise the company starts Custom."""
    plan = reseller.default_registration_plan
    if plan is None or plan.reseller_id != reseller.pk:
        return None
    if not reseller.has_plans_feature() or not plan.assignable or not plan.visible:
        return None
    return plan


def _chosen_plan(reseller: Reseller, plan_id: object) -> Plan:
    """A plan the visitor picked: only where the reseller lets visitors choose, and only
    one of its public catalog."""
    if not reseller.registration_plan_choice:
        raise ValidationFailed.field(
            "plan_id", "Plans are not chosen at registration: leave the plan out."
        )
    if isinstance(plan_id, bool) or not isinstance(plan_id, int):
        raise ValidationFailed.field("plan_id", "Choose one of the plans offered.")
    plan = plan_registration_choices(reseller).filter(pk=plan_id).first()
    if plan is None:
        raise ValidationFailed.field("plan_id", "This plan is not offered for registration.")
    return plan


def company_register(
    *,
    reseller_slug: str,
    company_name: str,
    contact_email: str,
    plan_id: int | None = None,
    billing_cycle: str | None = None,
) -> Company:
    """Create a company for an anonymous visitor; unknown reseller slug -> NotFound.

    Where the reseller lets visitors choose, they may pick a plan of the public catalog
    (visible and assignable); without a pick the company gets the default registration
    plan when that is usable, else Custom."""
    name, email = _clean_input(company_name, contact_email)
    reseller = reseller_get_by_slug(reseller_slug)
    plan = _chosen_plan(reseller, plan_id) if plan_id is not None else registration_plan(reseller)
    actor = Actor(role=Role.SYSTEM, reseller_id=reseller.pk, label=REGISTRATION_LABEL)
    # company_create turns use_plan_fees on whenever it assigns a plan.
    return company_create(
        actor=actor,
        reseller_id=reseller.pk,
        name=name,
        contact_email=email,
        plan_id=plan.pk if plan is not None else None,
        # The subscription terms start from the plan's defaults, anchored today.
        terms={"billing_cycle": billing_cycle} if billing_cycle else None,
    )
