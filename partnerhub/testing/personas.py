"""The personas every test tier uses (STYLE.md): built once per test by the `personas` fixture.

- platform operator
- reseller A: its admin, its viewer, a company of A (on A's plan "gold")
- reseller B: its admin — the outsider who must get 404 on A's objects
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser

from partnerhub.accounts.models import Membership
from partnerhub.companies.models import Company
from partnerhub.core.actor import Actor, Role
from partnerhub.plans.models import Plan
from partnerhub.resellers.models import Reseller
from partnerhub.testing.factories import (
    CompanyFactory,
    MembershipFactory,
    PlanFactory,
    ResellerFactory,
    UserFactory,
)

PASSWORD = "password-for-tests"
RESELLER_A_FEATURES = ["plans", "seating", "vouchers", "api_access"]


@dataclass
class Personas:
    platform_user: AbstractBaseUser
    platform: Actor
    reseller_a: Reseller
    admin_a_user: AbstractBaseUser
    admin_a: Actor
    viewer_a_user: AbstractBaseUser
    viewer_a: Actor
    plan_a: Plan
    company_a: Company
    company_a_actor: Actor
    reseller_b: Reseller
    admin_b_user: AbstractBaseUser
    admin_b: Actor


def build_personas() -> Personas:
    reseller_a = ResellerFactory(
        name="Northwind Tickets", slug="northwind", features=RESELLER_A_FEATURES
    )
    reseller_b = ResellerFactory(
        name="Southwind Events", slug="southwind", features=["plans", "seating"]
    )
    platform_user = UserFactory(username="operator", is_staff=True, is_superuser=True)
    Membership.objects.create(user=platform_user, role=Membership.Role.PLATFORM)
    admin_a = MembershipFactory(
        user=UserFactory(username="admin-a"), reseller=reseller_a, role=Membership.Role.ADMIN
    )
    viewer_a = MembershipFactory(
        user=UserFactory(username="viewer-a"), reseller=reseller_a, role=Membership.Role.VIEWER
    )
    admin_b = MembershipFactory(
        user=UserFactory(username="admin-b"), reseller=reseller_b, role=Membership.Role.ADMIN
    )
    plan_a = PlanFactory(
        reseller=reseller_a,
        name="gold",
        display_name="Gold",
        features=["plans", "seating"],
        limits={
            "messages": 10000,
            "whatsapp_conversations": 1000,
            "team_members": 5,
            "event_timeslots": None,
        },
    )
    company_a = CompanyFactory(reseller=reseller_a, name="Acme Events", plan=plan_a)
    return Personas(
        platform_user=platform_user,
        platform=Actor(role=Role.PLATFORM, user_id=platform_user.pk, label="operator"),
        reseller_a=reseller_a,
        admin_a_user=admin_a.user,
        admin_a=Actor(
            role=Role.RESELLER_ADMIN,
            reseller_id=reseller_a.pk,
            user_id=admin_a.user.pk,
            label="admin-a",
        ),
        viewer_a_user=viewer_a.user,
        viewer_a=Actor(
            role=Role.RESELLER_VIEWER,
            reseller_id=reseller_a.pk,
            user_id=viewer_a.user.pk,
            label="viewer-a",
        ),
        plan_a=plan_a,
        company_a=company_a,
        company_a_actor=Actor(
            role=Role.COMPANY,
            reseller_id=reseller_a.pk,
            company_id=company_a.pk,
            label=f"company {company_a.pk}",
        ),
        reseller_b=reseller_b,
        admin_b_user=admin_b.user,
        admin_b=Actor(
            role=Role.RESELLER_ADMIN,
            reseller_id=reseller_b.pk,
            user_id=admin_b.user.pk,
            label="admin-b",
        ),
    )
