"""Self-service registration: a public form creates a company of a reseller (SPEC §7)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from partnerhub.companies.models import Company
from partnerhub.companies.services import company_create
from partnerhub.core.actor import Actor, Role
from partnerhub.core.errors import ValidationFailed
from partnerhub.plans.models import Plan
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
    has the Plans feature and the plan is assignable. Otherwise the company starts Custom."""
    plan = reseller.default_registration_plan
    if plan is None or plan.reseller_id != reseller.pk:
        return None
    if not reseller.has_plans_feature() or not plan.assignable:
        return None
    return plan


def company_register(*, reseller_slug: str, company_name: str, contact_email: str) -> Company:
    """Create a company for an anonymous visitor; unknown reseller slug -> NotFound."""
    name, email = _clean_input(company_name, contact_email)
    reseller = reseller_get_by_slug(reseller_slug)
    plan = registration_plan(reseller)
    actor = Actor(role=Role.SYSTEM, reseller_id=reseller.pk, label=REGISTRATION_LABEL)
    # company_create turns use_plan_fees on whenever it assigns a plan.
    return company_create(
        actor=actor,
        reseller_id=reseller.pk,
        name=name,
        contact_email=email,
        plan_id=plan.pk if plan is not None else None,
    )
