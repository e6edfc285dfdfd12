"""Usage metering (SPEC §13): raw events, counters per usage period, threshold events.

The counters are the truth that consume checks and usage reads use; raw events are kept
for PARTNERHUB_USAGE_RETENTION_DAYS and then purged (docs/usage.md), counters forever.
"""

from __future__ import annotations

from datetime import date

from django.db import models

# Gauges never reset: their one counter row sits at this fixed period start.
GAUGE_PERIOD_START = date(1970, 1, 1)
MAX_QUANTITY = 10**12


class UsageEvent(models.Model):
    """One usage event as the host sent it (or an idempotent consume's record).

    Built for tens of millions of rows on PostgreSQL: the only indexes are the unique
    (reseller, event_id) that deduplicates retries, and a BRIN on recorded_at for the
    purge. The foreign keys carry no index of their own (reads use the counters).
    """

    class Source(models.TextChoices):
        EVENT = "event", "Event"
        CONSUME = "consume", "Consume"

    reseller = models.ForeignKey(
        "resellers.Reseller", on_delete=models.CASCADE, db_index=False, related_name="+"
    )
    event_id = models.CharField(max_length=200)  # the client's id, unique per reseller
    company = models.ForeignKey(
        "companies.Company", on_delete=models.CASCADE, db_index=False, related_name="+"
    )
    limit = models.ForeignKey(
        "catalog.Limit", on_delete=models.CASCADE, db_index=False, related_name="+"
    )
    quantity = models.BigIntegerField()
    timestamp = models.DateTimeField()
    period_start = models.DateField()  # the usage period it counts in (gauges: fixed)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.EVENT)
    recorded_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reseller", "event_id"], name="usage_event_id_unique")
        ]

    def __str__(self) -> str:
        return f"{self.event_id}: {self.quantity} {self.limit_id} for company {self.company_id}"


class UsageCounter(models.Model):
    """What a company used of a limit in one usage period (gauges: its current count)."""

    company = models.ForeignKey(
        "companies.Company", on_delete=models.CASCADE, db_index=False, related_name="+"
    )
    limit = models.ForeignKey("catalog.Limit", on_delete=models.CASCADE, related_name="+")
    period_start = models.DateField()
    used = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["company", "limit", "period_start"], name="usage_counter_unique"
            )
        ]

    def __str__(self) -> str:
        return f"company {self.company_id} limit {self.limit_id} {self.period_start}: {self.used}"


class UsageThresholdEvent(models.Model):
    """80 % / 100 % of a limit reached in a period: recorded once (SPEC §13), for the
    `usage.threshold_reached` webhook (SPEC §14) to deliver."""

    company = models.ForeignKey(
        "companies.Company", on_delete=models.CASCADE, db_index=False, related_name="+"
    )
    limit = models.ForeignKey("catalog.Limit", on_delete=models.CASCADE, related_name="+")
    threshold = models.PositiveSmallIntegerField()  # percent: 80 or 100
    used = models.BigIntegerField()
    value = models.BigIntegerField()
    period_start = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "limit", "period_start", "threshold"],
                name="usage_threshold_once",
            )
        ]

    def __str__(self) -> str:
        return f"company {self.company_id} limit {self.limit_id}: {self.threshold} %"
