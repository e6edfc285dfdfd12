"""The close job in one process (SQLite and PostgreSQL): what it closes, exactly once, in
numbered sequence; its chunks, counters, audit rows, takeover, failure and recovery.

Real worker processes (SIGKILL, two at once) are in test_close_workers.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest
from django.db import transaction
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from partnerhub.audit.models import AuditEvent
from partnerhub.companies.models import Company
from partnerhub.core.actor import SYSTEM
from partnerhub.statements import services
from partnerhub.statements.close import (
    close_job_enqueue_due,
    close_job_help,
    close_job_progress,
    close_job_recover_stale,
    close_job_run,
    close_job_start,
    due_cutoff,
    month_cutoff,
)
from partnerhub.statements.close.claim import job_claim
from partnerhub.statements.close.run import JobTakenOver, _run_chunk
from partnerhub.statements.models import CloseChunk, CloseJob, Statement
from partnerhub.statements.tests.helpers import company_on, plan_with_price
from partnerhub.testing.factories import ResellerFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
ANCHOR = date(2026, 9, 3)
# With a 24-hour grace on NOW: Sep 3-Oct 3, Oct 3-Nov 3 and Nov 3-Dec 3 have ended; the
# reseller months are those the periods' last days fall in and that ended: October and
# November (Dec 2 is in December, still open).
CLOSED_PERIODS = [(date(2026, 9, 3), date(2026, 10, 3)), (date(2026, 10, 3), date(2026, 11, 3)),
                  (date(2026, 11, 3), date(2026, 12, 3))]  # fmt: skip
RESELLER_MONTHS = [date(2026, 10, 1), date(2026, 11, 1)]


def _companies(resellers: int = 2, per_reseller: int = 5, anchor: date = ANCHOR) -> list[int]:
    """Companies created on their anchor day (a period chain starts at the creation)."""
    ids = []
    for _ in range(resellers):
        plan = plan_with_price(ResellerFactory(), monthly_minor=1000)
        ids += [company_on(plan, anchor=anchor).pk for _ in range(per_reseller)]
    return ids


def _company_periods() -> dict[int, list[tuple[date, date]]]:
    periods: dict[int, list[tuple[date, date]]] = {}
    for company_id, start, end in Statement.objects.filter(kind="company").values_list(
        "company_id", "period_start", "period_end"
    ):
        periods.setdefault(company_id, []).append((start, end))
    return {c: sorted(p) for c, p in periods.items()}


def _numbers_by_reseller() -> dict[int, list[int]]:
    numbers: dict[int, list[int]] = {}
    for reseller_id, number in Statement.objects.filter(status="closed").values_list(
        "reseller_id", "number"
    ):
        numbers.setdefault(reseller_id, []).append(number)
    return {r: sorted(n) for r, n in numbers.items()}


def _snapshot() -> list[tuple[object, ...]]:
    return list(
        Statement.objects.order_by("pk").values_list(
            "pk", "kind", "status", "company_id", "period_start", "number", "gross_minor",
            "closed_at",
        )
    )  # fmt: skip


def test_a_job_closes_every_ended_period_once_numbered_in_sequence_per_reseller() -> None:
    companies = _companies()
    job = close_job_start(actor=SYSTEM, cutoff=due_cutoff(NOW), chunk_companies=3)
    assert (job.status, job.companies_total, job.chunks_planned) == ("queued", 10, True)
    ranges = list(
        CloseChunk.objects.filter(job=job).values_list("company_id_from", "company_id_to")
    )
    assert len(ranges) == 4  # 3 + 3 + 3 + 1 companies
    assert ranges[0][0] == companies[0] and ranges[-1][1] == companies[-1] + 1
    assert all(a[1] == b[0] for a, b in pairwise(ranges))  # contiguous

    ended = close_job_run(job_id=job.pk, worker_id="test:1:a")

    assert ended is not None and ended.status == "succeeded"
    assert _company_periods() == {c: CLOSED_PERIODS for c in companies}
    resellers = Statement.objects.filter(kind="reseller")
    assert sorted(resellers.values_list("period_start", flat=True)) == sorted(RESELLER_MONTHS * 2)
    assert set(Statement.objects.values_list("status", flat=True)) == {"closed"}
    # Numbers run 1..n per reseller: 5 companies x 3 periods + 2 months each.
    assert list(_numbers_by_reseller().values()) == [list(range(1, 18))] * 2
    assert (ended.companies_done, ended.companies_total) == (10, 10)
    assert ended.statements_closed == Statement.objects.count() == 34
    assert not CloseChunk.objects.filter(job=job, done=False).exists()
    assert sum(CloseChunk.objects.filter(job=job).values_list("statements_closed", flat=True)) == 30
    actions = set(
        AuditEvent.objects.filter(object_type="close_job", object_id=job.pk).values_list(
            "action", flat=True
        )
    )
    assert actions == {"close_job.start", "close_job.succeeded"}
    progress = close_job_progress(job.pk)
    assert progress.finished and (progress.chunks_done, progress.chunks_total) == (4, 4)
    assert progress.line().startswith(f"close job {job.pk}: succeeded; companies 10/10")


def test_a_second_job_closes_nothing_new_and_rewrites_nothing() -> None:
    _companies(resellers=1, per_reseller=4)
    first = close_job_start(actor=SYSTEM, cutoff=due_cutoff(NOW), chunk_companies=2)
    close_job_run(job_id=first.pk)
    before = _snapshot()

    again = close_job_start(actor=SYSTEM, cutoff=due_cutoff(NOW), chunk_companies=2)
    ended = close_job_run(job_id=again.pk)

    assert ended is not None and (ended.status, ended.statements_closed) == ("succeeded", 0)
    assert ended.companies_done == 4
    assert _snapshot() == before


def test_a_month_cutoff_closes_only_periods_ending_by_that_months_end() -> None:
    companies = _companies(resellers=1, per_reseller=3)
    october = date(2026, 10, 1)
    cutoff = month_cutoff(october, NOW)
    assert cutoff == datetime(2026, 11, 2, tzinfo=UTC)  # November 1 + the grace
    job = close_job_start(actor=SYSTEM, cutoff=cutoff, period_month=october)

    close_job_run(job_id=job.pk)

    # Sep 3-Oct 3 ends by October's end; Oct 3-Nov 3 does not.
    assert _company_periods() == {c: CLOSED_PERIODS[:1] for c in companies}
    assert list(Statement.objects.filter(kind="reseller").values_list("period_start", flat=True))
    assert set(
        Statement.objects.filter(kind="reseller").values_list("period_start", flat=True)
    ) == {october}
    assert CloseJob.objects.get(pk=job.pk).period_month == october


def test_a_month_whose_grace_is_still_running_closes_nothing_of_it() -> None:
    _companies(resellers=1, per_reseller=2, anchor=date(2026, 11, 1))
    # Dec 1 00:00 + 24 h has not passed at Dec 1 18:00: November's period stays open.
    now = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
    job = close_job_start(actor=SYSTEM, cutoff=month_cutoff(date(2026, 11, 1), now))
    close_job_run(job_id=job.pk)
    assert Statement.objects.count() == 0


def test_the_due_check_starts_one_job_while_one_covers_the_cutoff() -> None:
    _companies(resellers=1, per_reseller=2)
    job = close_job_enqueue_due(actor=SYSTEM, now=NOW)
    assert job is not None and job.cutoff == datetime(2026, 12, 10, tzinfo=UTC)
    assert job.task_id and DBTaskResult.objects.filter(pk=job.task_id).exists()
    # Queued, running or done: the same day's check starts nothing more.
    assert close_job_enqueue_due(actor=SYSTEM, now=NOW + timedelta(hours=1)) is None
    close_job_run(job_id=job.pk)
    assert close_job_enqueue_due(actor=SYSTEM, now=NOW + timedelta(hours=2)) is None
    # The next period (Dec 3-Jan 3) is due once Jan 3 + the grace has passed.
    assert close_job_enqueue_due(actor=SYSTEM, now=datetime(2027, 1, 3, 23, tzinfo=UTC)) is None
    later = close_job_enqueue_due(actor=SYSTEM, now=datetime(2027, 1, 4, 1, tzinfo=UTC))
    assert later is not None and CloseJob.objects.count() == 2


def test_the_due_check_starts_nothing_when_no_period_has_ended() -> None:
    _companies(resellers=1, per_reseller=2, anchor=NOW.date() - timedelta(days=20))
    assert close_job_enqueue_due(actor=SYSTEM, now=NOW) is None
    assert not CloseJob.objects.exists()


def test_a_chunk_of_a_job_taken_over_rolls_back() -> None:
    _companies(resellers=1, per_reseller=2)
    job = close_job_start(actor=SYSTEM, cutoff=due_cutoff(NOW))
    assert job_claim(job.pk, "host:1:a") is not None
    CloseJob.objects.filter(pk=job.pk).update(worker_id="host:2:b")  # presumed dead

    with pytest.raises(JobTakenOver):
        _run_chunk(job.pk, "host:1:a", owner=True)

    assert not Statement.objects.exists()
    assert CloseChunk.objects.filter(job=job, done=False).count() == 1


def test_a_failing_chunk_fails_the_job_and_keeps_only_the_chunks_before_it(monkeypatch) -> None:
    companies = _companies(resellers=1, per_reseller=4)
    real = services.statements_close_companies
    calls = []

    def second_fails(**kwargs):
        calls.append(kwargs["company_ids"])
        closed = real(**kwargs)
        if len(calls) == 2:
            raise RuntimeError("engine broke")
        return closed

    monkeypatch.setattr(services, "statements_close_companies", second_fails)
    job = close_job_start(actor=SYSTEM, cutoff=due_cutoff(NOW), chunk_companies=2)

    with pytest.raises(RuntimeError):
        close_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert (job.status, job.companies_done, job.statements_closed) == ("failed", 2, 6)
    assert "engine broke" in (job.error or "")
    assert set(_company_periods()) == set(companies[:2])  # the second chunk rolled back
    assert CloseChunk.objects.filter(job=job, done=False).count() == 1


def test_a_stale_job_is_re_enqueued_and_resumed_from_its_pending_chunks() -> None:
    companies = _companies(resellers=1, per_reseller=4)
    job = close_job_start(actor=SYSTEM, cutoff=due_cutoff(NOW), chunk_companies=2)
    first_task = job.task_id
    DBTaskResult.objects.filter(pk=first_task).update(status=TaskResultStatus.RUNNING)
    assert job_claim(job.pk, "host:1:gone") is not None
    assert _run_chunk(job.pk, "host:1:gone", owner=True)
    CloseJob.objects.filter(pk=job.pk).update(heartbeat_at=NOW - timedelta(days=30))

    assert close_job_recover_stale() == [job.pk]
    assert close_job_recover_stale() == []  # queued on a live task now

    job.refresh_from_db()
    assert (job.status, job.worker_id, job.companies_done) == ("queued", "", 2)
    assert job.task_id != first_task
    assert DBTaskResult.objects.get(pk=first_task).status == TaskResultStatus.FAILED
    ended = close_job_run(job_id=job.pk, worker_id="host:2:new")
    assert ended is not None and ended.status == "succeeded"
    assert (ended.companies_done, ended.statements_closed) == (4, Statement.objects.count())
    assert _company_periods() == {c: CLOSED_PERIODS for c in companies}
    assert list(_numbers_by_reseller().values()) == [list(range(1, 15))]


def test_a_helper_closes_the_chunks_of_running_jobs_only() -> None:
    _companies(resellers=1, per_reseller=4)
    job = close_job_start(actor=SYSTEM, cutoff=due_cutoff(NOW), chunk_companies=2)
    assert close_job_help(worker_id="test:9:helper") == 0  # queued: its owner starts it
    with transaction.atomic():
        assert job_claim(job.pk, "test:1:owner") is not None

    assert close_job_help(worker_id="test:9:helper") == 2

    job.refresh_from_db()
    assert job.status == "succeeded"  # the helper closed the last chunk, and the job
    assert set(CloseChunk.objects.filter(job=job).values_list("worker_id", flat=True)) == {
        "test:9:helper"
    }
    assert job.statements_closed == Statement.objects.count() == 4 * 3 + 2


def test_the_due_check_follows_the_first_period_around_the_companys_creation() -> None:
    (company_id,) = _companies(resellers=1, per_reseller=1, anchor=date(2025, 1, 1))
    # Anchored long ago but created on Nov 28: its first period is Nov 1-Dec 1, due by
    # Dec 2 00:00 (the grace), though it began only four days before.
    Company.objects.filter(pk=company_id).update(created_at=datetime(2026, 11, 28, tzinfo=UTC))
    assert close_job_enqueue_due(actor=SYSTEM, now=datetime(2026, 12, 1, 23, tzinfo=UTC)) is None
    job = close_job_enqueue_due(actor=SYSTEM, now=datetime(2026, 12, 2, 1, tzinfo=UTC))
    assert job is not None
    close_job_run(job_id=job.pk)
    assert _company_periods() == {company_id: [(date(2026, 11, 1), date(2026, 12, 1))]}
