"""Companies, the resellers' customers, and what they hold of their own (SPEC §5).

What a company *gets* is resolved at read time (selectors.resolve_entitlements):
nothing here is a copy of its plan, so a plan edit reaches every company at once.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone


class Company(models.Model):
    reseller = models.ForeignKey(
        "resellers.Reseller", on_delete=models.CASCADE, related_name="companies"
    )
    name = models.CharField(max_length=200)
    contact_email = models.EmailField(blank=True, default="")
    plan = models.ForeignKey(
        "plans.Plan", null=True, blank=True, on_delete=models.PROTECT, related_name="companies"
    )  # null = "Custom"
    use_plan_fees = models.BooleanField(default=True)
    # Features given to the company outside its plan.
    direct_features = models.ManyToManyField(
        "catalog.Feature", blank=True, related_name="direct_companies"
    )
    # Plan features this company has been taken off ("deviates from plan").
    excluded_features = models.ManyToManyField(
        "catalog.Feature", blank=True, related_name="excluding_companies"
    )
    # {limit key: int or None}; overrides win over the plan, own values fill the gaps.
    limit_overrides = models.JSONField(default=dict, blank=True)
    own_limits = models.JSONField(default=dict, blank=True)
    fee_schedule = models.OneToOneField(
        "fees.FeeSchedule", on_delete=models.PROTECT, related_name="company"
    )
    # True once the company has a schedule of its own (even an empty one); else,
    # off plan fees, it falls back to the reseller's schedule.
    has_own_fees = models.BooleanField(default=False)
    # Subscription terms (SPEC §13, companies/terms.py): one of the plan's cycles and price
    # currencies; usage periods are months counted from the anchor's day.
    billing_cycle = models.CharField(max_length=10, default="monthly")
    billing_currency = models.CharField(max_length=3, blank=True, default="")
    billing_anchor = models.DateField(null=True, blank=True)  # null only before the first save
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "companies"
        indexes = [models.Index(fields=["plan", "id"], name="company_plan_id")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Every stored company has an anchor (SPEC §13: default the day it was created),
        # however it was made, so a form showing the default never reads as a change.
        if self.billing_anchor is None:
            self.billing_anchor = (self.created_at or timezone.now()).date()
        super().save(*args, **kwargs)

    def effective_fee_schedule_id(self) -> int:
        if self.plan_id is not None and self.use_plan_fees:
            return self.plan.fee_schedule_id  # type: ignore[union-attr]
        if self.has_own_fees:
            return self.fee_schedule_id
        return self.reseller.fee_schedule_id
