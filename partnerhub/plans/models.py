"""Plans: reusable bundles of features, limits, prices and fees (SPEC §4)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

# One constant per field limit: the model, the services, the API schemas and the
# hub forms all read these.
PLAN_NAME_MAX_LENGTH = 120  # name and display_name
PLAN_DESCRIPTION_MAX_LENGTH = 2000


class PlanType(models.TextChoices):
    USAGE_BASED = "usage_based", "Usage-Based Plan"
    REVENUE_SHARING = "revenue_sharing", "Revenue-Sharing Plan"


class BillingCycle(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"
    YEARLY = "yearly", "Yearly"


BILLING_CYCLE_ORDER = [c.value for c in BillingCycle]


class PlanQuerySet(models.QuerySet["Plan"]):
    def live(self) -> PlanQuerySet:
        return self.filter(deleted_at__isnull=True)

    def assignable(self) -> PlanQuerySet:
        """Enabled, not archived, not deleted: the only plans a company can newly get."""
        return self.filter(enabled=True, archived_at__isnull=True, deleted_at__isnull=True)


class Plan(models.Model):
    reseller = models.ForeignKey(
        "resellers.Reseller", on_delete=models.CASCADE, related_name="plans"
    )
    plan_type = models.CharField(max_length=20, choices=PlanType.choices)
    name = models.CharField(max_length=PLAN_NAME_MAX_LENGTH)  # internal identifier
    display_name = models.CharField(
        max_length=PLAN_NAME_MAX_LENGTH
    )  # shown to the reseller's customers
    description = models.TextField(blank=True, default="")
    enabled = models.BooleanField(default=True)  # the Status toggle
    visible = models.BooleanField(default=True)
    billing_cycles = models.JSONField(default=list)  # subset of BillingCycle, in cycle order
    gst_enabled = models.BooleanField(default=False)
    revenue_share_bps = models.PositiveIntegerField(null=True, blank=True)  # basis points
    # {limit key: non-negative int, or None for unlimited}; an absent key is "not set".
    limits = models.JSONField(default=dict)
    features = models.ManyToManyField("catalog.Feature", blank=True, related_name="plans")
    fee_schedule = models.OneToOneField(
        "fees.FeeSchedule", on_delete=models.PROTECT, related_name="plan"
    )
    archived_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)  # optimistic lock
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PlanQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            # Names are unique without regard to case ("Gold" clashes with "gold").
            models.UniqueConstraint(
                "reseller",
                Lower("name"),
                condition=Q(deleted_at__isnull=True),
                name="plan_name_ci_unique_per_reseller_live",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def assignable(self) -> bool:
        return self.enabled and not self.archived and not self.deleted


class PlanPrice(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="prices")
    currency = models.ForeignKey(
        "catalog.Currency",
        to_field="code",
        db_column="currency",
        on_delete=models.PROTECT,
        related_name="+",
    )
    billing_cycle = models.CharField(max_length=10, choices=BillingCycle.choices)
    amount_minor = models.BigIntegerField()  # minor units

    class Meta:
        ordering = ["currency_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "currency", "billing_cycle"], name="plan_price_unique"
            ),
            models.CheckConstraint(
                condition=Q(amount_minor__gte=0), name="plan_price_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.currency_id} {self.billing_cycle}: {self.amount_minor}"
