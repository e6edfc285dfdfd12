"""Statements (SPEC §15): what a company owes per billing period and what a reseller
earned per calendar month, to the minor unit.

A statement is `draft` while its period is open (recomputed from the sales and the
subscription history) and `closed` once the close job has frozen it: a closed statement
and its lines are never written again. Numbers are given at close, in sequence per
reseller (StatementNumbering). Every amount is an integer in minor units of `currency`.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Statement(models.Model):
    class Kind(models.TextChoices):
        COMPANY = "company", "Company statement"
        RESELLER = "reseller", "Reseller statement"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        CLOSED = "closed", "Closed"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    reseller = models.ForeignKey(
        "resellers.Reseller", on_delete=models.CASCADE, related_name="statements"
    )
    # Company statements only; a reseller statement covers all of its companies.
    company = models.ForeignKey(
        "companies.Company",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="statements",
    )
    currency = models.CharField(max_length=3)  # ISO 4217
    period_start = models.DateField()  # inclusive
    period_end = models.DateField()  # exclusive: the next period's start
    number = models.PositiveIntegerField(null=True, blank=True)  # given at close
    net_minor = models.BigIntegerField(default=0)  # minor units: sum of the lines
    gst_minor = models.BigIntegerField(default=0)  # minor units: sum of the lines
    gross_minor = models.BigIntegerField(default=0)  # minor units: sum of the lines
    gateway_fees_minor = models.BigIntegerField(default=0)  # minor units (gross billed part)
    reseller_share_minor = models.BigIntegerField(default=0)  # minor units
    platform_share_minor = models.BigIntegerField(default=0)  # minor units
    computed_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-period_start", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "period_start", "currency"],
                condition=Q(kind="company"),
                name="statement_company_period_unique",
            ),
            models.UniqueConstraint(
                fields=["reseller", "period_start", "currency"],
                condition=Q(kind="reseller"),
                name="statement_reseller_period_unique",
            ),
            models.UniqueConstraint(
                fields=["reseller", "number"],
                condition=Q(number__isnull=False),
                name="statement_number_unique",
            ),
            models.CheckConstraint(
                condition=Q(kind="reseller", company__isnull=True)
                | Q(kind="company", company__isnull=False),
                name="statement_kind_company",
            ),
        ]
        indexes = [models.Index(fields=["reseller", "period_start"], name="statement_reseller")]

    def __str__(self) -> str:
        return f"{self.kind} statement {self.number or self.pk} ({self.status})"


class StatementLine(models.Model):
    class Kind(models.TextChoices):
        SUBSCRIPTION = "subscription", "Subscription"
        PRORATION = "proration", "Proration"
        RESELLER_FEES = "reseller_fees", "Reseller fees"
        GATEWAY_FEES = "gateway_fees", "Gateway fees"
        FEES = "fees", "Fees"  # blended: reseller + gateway fee as one charge
        ADJUSTMENT = "adjustment", "Adjustment"

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="lines")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    description = models.CharField(max_length=300)
    # Reseller statements: the company the line comes from.
    company = models.ForeignKey(
        "companies.Company",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_index=False,
        related_name="+",
    )
    plan = models.ForeignKey(
        "plans.Plan", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    fee_type = models.CharField(max_length=64, blank=True, default="")
    quantity = models.BigIntegerField(default=0)  # units sold (fee lines) or days (proration)
    net_minor = models.BigIntegerField(default=0)  # minor units
    gst_minor = models.BigIntegerField(default=0)  # minor units, half-up at the platform rate
    gross_minor = models.BigIntegerField(default=0)  # minor units: net + gst
    # The split a blended `fees` line keeps (and the parts of an adjustment).
    reseller_fee_minor = models.BigIntegerField(default=0)  # minor units
    gateway_fee_minor = models.BigIntegerField(default=0)  # minor units
    reseller_share_minor = models.BigIntegerField(default=0)  # minor units
    platform_share_minor = models.BigIntegerField(default=0)  # minor units

    class Meta:
        ordering = ["statement_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["statement", "seq"], name="statement_line_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.gross_minor}"


class StatementNumbering(models.Model):
    """The last number given to a closed statement of a reseller. A close locks this row
    (SELECT … FOR UPDATE) to take the next numbers, so they run without gaps or repeats
    however many workers close at once."""

    reseller = models.OneToOneField(
        "resellers.Reseller", on_delete=models.CASCADE, related_name="+"
    )
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"reseller {self.reseller_id}: {self.last_number}"


class CloseJob(models.Model):
    """One run of closing: every statement whose period ended before `cutoff` (period end
    + PARTNERHUB_STATEMENT_GRACE_HOURS) and is still open, in chunks of companies that
    any worker claims (FOR UPDATE SKIP LOCKED on PostgreSQL). A chunk's statements, its
    done mark and the job's counters commit together, so a killed worker leaves the
    chunk for another one and nothing is closed twice."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    cutoff = models.DateTimeField()
    # `partnerhub statements close --period YYYY-MM`: only periods ending by that month's end.
    period_month = models.DateField(null=True, blank=True)  # first day of the month
    companies_total = models.PositiveIntegerField(default=0)
    companies_done = models.PositiveIntegerField(default=0)
    statements_closed = models.PositiveIntegerField(default=0)
    chunks_planned = models.BooleanField(default=False)
    worker_id = models.CharField(max_length=64, blank=True, default="")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    task_id = models.CharField(max_length=64, blank=True, default="")
    error = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"close job {self.pk} ({self.status})"


class CloseChunk(models.Model):
    """Companies company_id_from <= id < company_id_to of a close job."""

    job = models.ForeignKey(CloseJob, on_delete=models.CASCADE, related_name="chunks")
    seq = models.PositiveIntegerField()
    company_id_from = models.BigIntegerField()
    company_id_to = models.BigIntegerField()
    companies_counted = models.PositiveIntegerField(default=0)
    statements_closed = models.PositiveIntegerField(default=0)
    done = models.BooleanField(default=False)
    done_at = models.DateTimeField(null=True, blank=True)
    worker_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["job_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["job", "seq"], name="close_chunk_unique_seq"),
        ]
        indexes = [
            models.Index(fields=["job", "seq"], name="close_chunk_pending", condition=Q(done=False))
        ]

    def __str__(self) -> str:
        return f"chunk {self.seq} of close job {self.job_id}"
