"""Fee schedules, sale items and recalculation jobs (SPEC §6, §11)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class FeeSchedule(models.Model):
    """A set of fee entries. Resellers, plans and companies each own one.

    One shape for all three owners means one fee rule and one recalculation
    statement, whichever schedule a company's fees resolve to.
    """

    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"schedule {self.pk}"


class FeeScheduleEntry(models.Model):
    schedule = models.ForeignKey(FeeSchedule, on_delete=models.CASCADE, related_name="entries")
    currency = models.ForeignKey(
        "catalog.Currency",
        to_field="code",
        db_column="currency",
        on_delete=models.PROTECT,
        related_name="+",
    )
    fee_type = models.ForeignKey(
        "catalog.FeeType",
        to_field="key",
        db_column="fee_type",
        on_delete=models.PROTECT,
        related_name="+",
    )
    percent_bps = models.PositiveIntegerField()  # basis points of the price
    fixed_minor = models.BigIntegerField(default=0)  # minor units, added after the percentage
    min_minor = models.BigIntegerField(null=True, blank=True)  # minor units; clamp floor
    max_minor = models.BigIntegerField(null=True, blank=True)  # minor units; clamp ceiling
    # Per currency, kept equal on every entry of the currency by the services:
    # reseller and gateway fee are presented as one combined charge.
    blended = models.BooleanField(default=False)

    class Meta:
        ordering = ["currency_id", "fee_type_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "currency", "fee_type"], name="fee_entry_unique_per_schedule"
            ),
            models.CheckConstraint(
                condition=Q(min_minor__isnull=True)
                | Q(max_minor__isnull=True)
                | Q(min_minor__lte=models.F("max_minor")),
                name="fee_entry_min_le_max",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.currency_id}/{self.fee_type_id}: {self.percent_bps} bps + {self.fixed_minor}"


SALE_ITEM_NAME_MAX_LENGTH = 200
SALE_ITEM_REF_MAX_LENGTH = 120  # external_ref
JOB_REASON_MAX_LENGTH = 200  # RecalcJob.reason


class SaleItem(models.Model):
    """Something a company sells. Fees are computed from its effective schedule and stored.

    The fee columns carry no index on purpose: recalculation rewrites them, and
    on PostgreSQL an unindexed column plus free page space (fillfactor, see the
    migration) makes that rewrite a HOT update.
    """

    company = models.ForeignKey(
        "companies.Company", on_delete=models.CASCADE, related_name="sale_items"
    )
    external_ref = models.CharField(max_length=SALE_ITEM_REF_MAX_LENGTH, blank=True, default="")
    name = models.CharField(max_length=SALE_ITEM_NAME_MAX_LENGTH)
    currency = models.ForeignKey(
        "catalog.Currency",
        to_field="code",
        db_column="currency",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    fee_type = models.ForeignKey(
        "catalog.FeeType",
        to_field="key",
        db_column="fee_type",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    price_minor = models.BigIntegerField()  # minor units
    reseller_fee_minor = models.BigIntegerField(default=0)  # minor units
    gateway_fee_minor = models.BigIntegerField(default=0)  # minor units
    blended = models.BooleanField(default=False)
    fee_revision = models.PositiveIntegerField(default=0)
    fees_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class RecalcJob(models.Model):
    """Our own record of a fee recalculation: what it covers and how far it got.

    The job's work is a set of RecalcChunk rows, planned when it first starts. Any
    worker claims a chunk and advances the done counters in the same transaction as
    the chunk's UPDATE, so a killed worker leaves the chunk pending for another one
    and nothing is counted twice (fees/recalc/).
    """

    class Kind(models.TextChoices):
        FEE_RECALCULATION = "fee_recalculation", "Fee recalculation"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=32, choices=Kind.choices, default=Kind.FEE_RECALCULATION)
    reseller = models.ForeignKey(
        "resellers.Reseller", on_delete=models.CASCADE, related_name="recalc_jobs"
    )
    # Scope: exactly `company_ids`, decided when the change that needs the job commits
    # (for a plan edit: every company then on `plan` using plan fees; fees/jobs.py).
    # `plan` names the edited plan (display, supersession); a job enqueued before
    # scopes were decided at commit has company_ids None and takes the plan's then.
    plan = models.ForeignKey(
        "plans.Plan", null=True, blank=True, on_delete=models.SET_NULL, related_name="recalc_jobs"
    )
    company_ids = models.JSONField(null=True, blank=True)
    reason = models.CharField(max_length=JOB_REASON_MAX_LENGTH, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    companies_total = models.PositiveIntegerField(default=0)
    companies_done = models.PositiveIntegerField(default=0)
    items_total = models.BigIntegerField(default=0)
    items_done = models.BigIntegerField(default=0)
    # Jobs started by a release before chunk rows: companies up to here were done.
    # Chunks are planned only for the companies after it.
    cursor_company_id = models.BigIntegerField(default=0)
    worker_id = models.CharField(max_length=64, blank=True, default="")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Frozen when the job first starts: the companies it covers (sorted: company_ids
    # that still exist and belong to the reseller) and the newest item id then (for the
    # record only: chunks reprice every item of their companies, see recalc/statement.py).
    scope_company_ids = models.JSONField(null=True, blank=True)
    max_item_id = models.BigIntegerField(null=True, blank=True)
    # {company id: items counted at start}; a chunk whose UPDATE finds a different
    # number (an item committed in flight) corrects items_total in its transaction.
    scope_item_counts = models.JSONField(null=True, blank=True)
    # False while only the chunks of the scope's first companies are written
    # (fees/recalc/chunks.py::chunks_plan_rest writes the others): the job cannot close
    # before.
    chunks_planned = models.BooleanField(default=True)
    # The django-tasks-db task currently meant to run this job (re-enqueued on recovery).
    task_id = models.CharField(max_length=64, blank=True, default="")
    # A later job for the same plan that makes this one's work redundant.
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="recalc_status_heartbeat")]

    def __str__(self) -> str:
        return f"job {self.pk} ({self.status})"


class RecalcChunk(models.Model):
    """One unit of a recalculation job: one set-based UPDATE in one transaction.

    Planned when the job first starts (fees/recalc/chunks.py::chunks_plan), bounded by
    items: whole companies packed up to RECALC_CHUNK_ITEMS, or one piece of a bigger
    company (its items with item_id_from <= id < item_id_to; an open end is None, so
    the pieces cover every item of the company, including ones created later). Any
    worker claims a pending chunk (FOR UPDATE SKIP LOCKED on PostgreSQL), runs it and
    marks it done in the same transaction as the job's counters.
    """

    job = models.ForeignKey(RecalcJob, on_delete=models.CASCADE, related_name="chunks")
    seq = models.PositiveIntegerField()
    company_ids = models.JSONField()  # sorted
    item_id_from = models.BigIntegerField(null=True, blank=True)
    item_id_to = models.BigIntegerField(null=True, blank=True)
    # Items counted when planned (the job's items_total is corrected by what ran).
    items_counted = models.BigIntegerField(default=0)
    # Companies this chunk finishes (0 for a piece of a company other than its last).
    companies_completed = models.PositiveIntegerField(default=0)
    done = models.BooleanField(default=False)
    done_at = models.DateTimeField(null=True, blank=True)
    worker_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["job_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["job", "seq"], name="recalc_chunk_unique_seq"),
        ]
        indexes = [
            # Pending chunks only: what claims and the workers' polls read.
            models.Index(
                fields=["job", "seq"], name="recalc_chunk_pending", condition=Q(done=False)
            ),
        ]

    def __str__(self) -> str:
        return f"job {self.job_id} chunk {self.seq}"
