"""factory_boy factories shared by every app's tests (STYLE.md: tests/factories.py)."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth.models import User

from partnerhub.accounts.models import Membership
from partnerhub.catalog.models import Feature
from partnerhub.companies.models import Company
from partnerhub.fees.models import FeeSchedule, SaleItem
from partnerhub.plans.models import Plan, PlanPrice, PlanType
from partnerhub.resellers.models import Reseller


class FeatureFactory(factory.django.DjangoModelFactory[Feature]):
    class Meta:
        model = Feature
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"feature-{n}")
    name = factory.LazyAttribute(lambda o: o.key.replace("-", " ").replace("_", " ").title())


class FeeScheduleFactory(factory.django.DjangoModelFactory[FeeSchedule]):
    class Meta:
        model = FeeSchedule


class ResellerFactory(factory.django.DjangoModelFactory[Reseller]):
    class Meta:
        model = Reseller
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Reseller {n}")
    slug = factory.Sequence(lambda n: f"reseller-{n}")
    fee_schedule = factory.SubFactory(FeeScheduleFactory)

    @factory.post_generation
    def features(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        keys = ["plans"] if extracted is None else list(extracted)
        if create and keys:
            self.features.set([FeatureFactory(key=k) for k in keys])


class PlanFactory(factory.django.DjangoModelFactory[Plan]):
    """A plan written straight to the database: for reading tests. Use plan_create to test rules."""

    class Meta:
        model = Plan
        skip_postgeneration_save = True

    reseller = factory.SubFactory(ResellerFactory)
    plan_type = PlanType.USAGE_BASED
    name = factory.Sequence(lambda n: f"plan-{n}")
    display_name = factory.LazyAttribute(lambda o: o.name.title())
    billing_cycles = factory.LazyFunction(lambda: ["monthly"])
    fee_schedule = factory.SubFactory(FeeScheduleFactory)

    @factory.post_generation
    def features(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            self.features.set([FeatureFactory(key=k) for k in extracted])

    @factory.post_generation
    def prices(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        """A valid plan has a price for every enabled cycle (SPEC §4): by default 0 GBP
        each; pass [(currency, cycle, amount_minor), …] for others."""
        if not create:
            return
        rows = extracted if extracted is not None else [("GBP", c, 0) for c in self.billing_cycles]
        for currency, cycle, amount in rows:
            PlanPrice.objects.create(
                plan=self, currency_id=currency, billing_cycle=cycle, amount_minor=amount
            )


class CompanyFactory(factory.django.DjangoModelFactory[Company]):
    class Meta:
        model = Company

    reseller = factory.SubFactory(ResellerFactory)
    name = factory.Sequence(lambda n: f"Company {n}")
    fee_schedule = factory.SubFactory(FeeScheduleFactory)


class SaleItemFactory(factory.django.DjangoModelFactory[SaleItem]):
    class Meta:
        model = SaleItem

    company = factory.SubFactory(CompanyFactory)
    name = factory.Sequence(lambda n: f"Item {n}")
    external_ref = factory.Sequence(lambda n: f"ref-{n}")
    currency_id = "GBP"
    fee_type_id = "ticket"
    price_minor = 2000


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.test")
    password = factory.PostGenerationMethodCall("set_password", "password-for-tests")

    @factory.post_generation
    def save_password(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            self.save()


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    role = Membership.Role.ADMIN
    reseller = factory.SubFactory(ResellerFactory)
