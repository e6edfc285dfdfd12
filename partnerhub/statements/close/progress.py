"""How far a close job is: what the CLI prints and an operator looks at."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count, Q

from partnerhub.core.errors import NotFound
from partnerhub.statements.models import CloseChunk, CloseJob


@dataclass(frozen=True, slots=True)
class CloseProgress:
    job_id: int
    status: str
    cutoff: datetime
    period_month: date | None
    companies_done: int
    companies_total: int
    statements_closed: int
    chunks_done: int
    chunks_total: int
    error: str | None

    @property
    def finished(self) -> bool:
        return self.status in (CloseJob.Status.SUCCEEDED, CloseJob.Status.FAILED)

    def line(self) -> str:
        text = (
            f"close job {self.job_id}: {self.status}; companies "
            f"{self.companies_done}/{self.companies_total} (chunks "
            f"{self.chunks_done}/{self.chunks_total}), statements closed {self.statements_closed}"
        )
        return text + (f"; error: {self.error}" if self.error else "")


def close_job_progress(job_id: int) -> CloseProgress:
    job = CloseJob.objects.filter(pk=job_id).first()
    if job is None:
        raise NotFound(f"No close job {job_id}.")
    chunks = CloseChunk.objects.filter(job_id=job_id).aggregate(
        total=Count("id"), done=Count("id", filter=Q(done=True))
    )
    return CloseProgress(
        job_id=job.pk,
        status=job.status,
        cutoff=job.cutoff,
        period_month=job.period_month,
        companies_done=job.companies_done,
        companies_total=job.companies_total,
        statements_closed=job.statements_closed,
        chunks_done=chunks["done"],
        chunks_total=chunks["total"],
        error=job.error,
    )
