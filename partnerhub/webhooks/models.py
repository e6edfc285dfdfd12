"""Webhooks (SPEC §14): endpoints, the event outbox, deliveries, and pending fan-outs.

An event row is written in the same transaction as the change it announces (the
outbox); deliveries and fan-outs are rows too, so a worker that dies loses nothing:
what it had claimed becomes claimable again when its lease runs out.
"""

from __future__ import annotations

from django.db import models

ENDPOINT_URL_MAX_LENGTH = 2000
ENDPOINT_DESCRIPTION_MAX_LENGTH = 200
EVENT_TYPE_MAX_LENGTH = 64


class Endpoint(models.Model):
    # null = a platform endpoint, which receives every reseller's events.
    reseller = models.ForeignKey(
        "resellers.Reseller",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
    )
    url = models.URLField(max_length=ENDPOINT_URL_MAX_LENGTH)
    description = models.CharField(
        max_length=ENDPOINT_DESCRIPTION_MAX_LENGTH, blank=True, default=""
    )
    event_types = models.JSONField(default=list, blank=True)  # [] = every type
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True, default="")
    # Kept in clear because they must sign; never logged, answered only at creation and
    # rotation. The previous secret keeps signing until previous_secret_expires_at.
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Start of the current unbroken run of failed attempts (None: the last one succeeded).
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class Event(models.Model):
    type = models.CharField(max_length=EVENT_TYPE_MAX_LENGTH)
    # null: a platform-level event (only platform endpoints hear it).
    reseller = models.ForeignKey(
        "resellers.Reseller", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["reseller", "id"], name="webhook_event_reseller"),
            models.Index(fields=["type", "id"], name="webhook_event_type"),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"

    @property
    def webhook_id(self) -> str:
        """The Standard Webhooks `webhook-id`: the same on every attempt and resend."""
        return f"evt_{self.pk}"


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)  # None once finished
    # A worker that claims a delivery owns it until then; after a crash it is due again.
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_response_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhook_delivery_unique")
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
            models.Index(fields=["endpoint", "status", "id"], name="webhook_delivery_endpoint"),
        ]

    def __str__(self) -> str:
        return f"delivery #{self.pk} ({self.status})"


class FanOut(models.Model):
    """A change that reaches many companies, waiting for the worker to turn it into one
    `company.entitlements_changed` per company whose entitlements changed.

    `before` is what the change's transaction knew before it wrote (webhooks/fanout.py
    documents its keys); the worker compares it with the database as it is then.
    """

    reseller = models.ForeignKey(
        "resellers.Reseller", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )  # scope: its companies (None: every reseller's)
    plan_id = models.BigIntegerField(null=True, blank=True)  # scope: companies on this plan
    company_ids = models.JSONField(null=True, blank=True)  # scope: exactly these
    reason = models.CharField(max_length=200)
    before = models.JSONField(default=dict)
    cursor = models.BigIntegerField(default=0)  # companies with id <= cursor are done
    done = models.BooleanField(default=False)
    claimed_by = models.CharField(max_length=64, blank=True, default="")
    claimed_until = models.DateTimeField(null=True, blank=True)
    events_emitted = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["done", "id"], name="webhook_fanout_pending")]

    def __str__(self) -> str:
        return f"fan-out #{self.pk}: {self.reason}"
