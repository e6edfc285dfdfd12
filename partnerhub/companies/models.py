"""Companies, the resellers' customers, and what they hold of their own (SPEC §5).

What a company *gets* is resolved at read time (selectors.resolve_entitlements):
nothing here is a copy of its plan, so a plan edit reaches every company at once.

A company detached from a deleted plan shares that plan's frozen configuration
(`PlanSnapshot`) instead of holding a copy: copy-on-write, so deleting a plan is one
UPDATE of its companies whatever their number (docs/architecture.md, "Plan delete").
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone

from partnerhub.core.validation import EMAIL_MAX_LENGTH


class PlanSnapshot(models.Model):
    """A deleted plan's features, limits and fees as they were when it was deleted.

    Never written after it is made: the companies that were on the plan read it as
    part of their own configuration (selectors.company_direct_keys, company_own_limits,
    company_own_fees) until their own first write copies it in
    (services.company_materialise_snapshot). Restoring or editing the plan later
    writes the plan's own rows, never these.
    """

    plan = models.ForeignKey(
        "plans.Plan", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    features = models.ManyToManyField("catalog.Feature", blank=True, related_name="+")
    limits = models.JSONField(default=dict)  # {limit key: int or None}, as Plan.limits
    fee_schedule = models.OneToOneField(
        "fees.FeeSchedule", on_delete=models.PROTECT, related_name="plan_snapshot"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"snapshot {self.pk} of plan {self.plan_id}"


COMPANY_NAME_MAX_LENGTH = 200


class Company(models.Model):
    reseller = models.ForeignKey(
        "resellers.Reseller", on_delete=models.CASCADE, related_name="companies"
    )
    name = models.CharField(max_length=COMPANY_NAME_MAX_LENGTH)
    contact_email = models.EmailField(max_length=EMAIL_MAX_LENGTH, blank=True, default="")
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
    # Copy-on-write after a plan delete (PlanSnapshot): the deleted plan's features (less
    # this company's exclusions, kept for that) count as direct features and its limits
    # as own limits written over `own_limits`; `snapshot_fee_schedule`, set when the
    # company was on the plan's fees, is its own fee schedule in place of
    # `fee_schedule`. Both are null on a plan and after the company's first own write.
    # No index: nothing looks companies up by them, and the delete's UPDATE stays lean.
    plan_snapshot = models.ForeignKey(
        PlanSnapshot,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    snapshot_fee_schedule = models.ForeignKey(
        "fees.FeeSchedule",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
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
        if self.snapshot_fee_schedule_id is not None:
            return self.snapshot_fee_schedule_id
        if self.has_own_fees:
            return self.fee_schedule_id
        return self.reseller.fee_schedule_id


class SubscriptionChange(models.Model):
    """The company's plan and billing cycle from `effective_at` on: written by the company
    services whenever either changes (and at create), read by the statements to prorate a
    period in which the company changed plan or cycle (SPEC §15). The plan's name is kept
    so a statement still names a plan deleted since."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    effective_at = models.DateTimeField()
    plan = models.ForeignKey(
        "plans.Plan", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )  # null = Custom
    billing_cycle = models.CharField(max_length=10)
    billing_currency = models.CharField(max_length=3, blank=True, default="")

    class Meta:
        ordering = ["company_id", "effective_at", "id"]
        indexes = [models.Index(fields=["company", "effective_at"], name="subscription_change")]

    def __str__(self) -> str:
        return f"company {self.company_id}: plan {self.plan_id} {self.billing_cycle}"
