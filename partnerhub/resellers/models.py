"""Resellers (partners): enabled features, fee schedule, default registration plan (SPEC §3)."""

from __future__ import annotations

from django.db import models

from partnerhub.catalog.models import PLANS_FEATURE_KEY

RESELLER_NAME_MAX_LENGTH = 200
RESELLER_SLUG_MAX_LENGTH = 64


class Reseller(models.Model):
    name = models.CharField(max_length=RESELLER_NAME_MAX_LENGTH)
    slug = models.SlugField(max_length=RESELLER_SLUG_MAX_LENGTH, unique=True)
    # Funnelling: the hard ceiling on what any plan or company of this reseller gets.
    features = models.ManyToManyField("catalog.Feature", blank=True, related_name="resellers")
    # Used by companies on no plan that have no schedule of their own.
    fee_schedule = models.OneToOneField(
        "fees.FeeSchedule", on_delete=models.PROTECT, related_name="reseller"
    )
    default_registration_plan = models.ForeignKey(
        "plans.Plan", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Visitors choose nothing at registration unless the reseller turns this on: then the
    # form offers its visible, assignable plans (SPEC §7).
    registration_plan_choice = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def feature_keys(self) -> set[str]:
        return {f.key for f in self.features.all()}

    def has_plans_feature(self) -> bool:
        return PLANS_FEATURE_KEY in self.feature_keys()


class ResellerVersions(models.Model):
    """Counters that cached reads are keyed on (see resellers/versions.py). A row of its
    own, so that saving a Reseller can never write back an old counter."""

    reseller = models.OneToOneField(
        Reseller, primary_key=True, on_delete=models.CASCADE, related_name="versions"
    )
    # What a plan list shows: the reseller's plans, their company counts, its features
    # and fees, the catalog.
    plans = models.BigIntegerField()
    # What a company resolves through besides its own row and its plan's: the reseller's
    # features and fees, the catalog.
    entitlements = models.BigIntegerField()

    def __str__(self) -> str:
        return f"reseller {self.reseller_id}: plans {self.plans}, entitlements {self.entitlements}"
