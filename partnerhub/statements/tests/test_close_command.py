"""`partnerhub statements close [--period YYYY-MM]` (SQLite and PostgreSQL): it runs a close
job here and prints its progress; --period closes only periods ending by that month's
end; a rerun closes nothing new; a bad --period is a clear error and starts nothing."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from partnerhub.statements.close.planning import next_month
from partnerhub.statements.models import CloseJob, Statement
from partnerhub.statements.tests.helpers import company_on, plan_with_price
from partnerhub.testing.factories import ResellerFactory
from partnerhub.usage.periods import billing_period

pytestmark = pytest.mark.django_db


def _months_ago(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, min(day.day, 28))


def _companies(count: int, anchor: date) -> list[int]:
    """Companies created on their anchor day (a period chain starts at the creation)."""
    plan = plan_with_price(ResellerFactory(), monthly_minor=1500)
    return [company_on(plan, anchor=anchor).pk for _ in range(count)]


def _periods_ending_by(anchor: date, last_end: date) -> list[tuple[date, date]]:
    periods, start = [], anchor
    while (end := billing_period(anchor, "monthly", start).end) <= last_end:
        periods.append((start, end))
        start = end
    return periods


def _closed_periods(company_id: int) -> list[tuple[date, date]]:
    return list(
        Statement.objects.filter(company_id=company_id, status="closed")
        .order_by("period_start")
        .values_list("period_start", "period_end")
    )


def _close(*args: str) -> str:
    out = StringIO()
    call_command("statements", "close", *args, stdout=out)
    return out.getvalue()


def test_close_runs_a_job_here_printing_its_progress_and_a_rerun_closes_nothing() -> None:
    today = timezone.now().date()
    anchor = _months_ago(today, 4)
    companies = _companies(5, anchor)

    output = _close("--chunk-companies", "2")

    job = CloseJob.objects.get()
    assert job.status == "succeeded" and job.period_month is None
    lines = output.splitlines()
    assert lines[0].startswith(f"Close job {job.pk}: periods whose end + grace")
    assert [line.split("companies ")[1].split(" ")[0] for line in lines[1:4]] == [
        "2/5", "4/5", "5/5",
    ]  # fmt: skip
    assert lines[-1].startswith(f"close job {job.pk}: succeeded; companies 5/5 (chunks 3/3)")
    # Every period that ended a day (the grace) before today.
    expected = _periods_ending_by(anchor, today - timedelta(days=1))
    assert len(expected) >= 3
    assert all(_closed_periods(c) == expected for c in companies)
    assert job.statements_closed == Statement.objects.count()

    again = _close()

    assert "succeeded" in again and again.rstrip().endswith("statements closed 0")
    assert Statement.objects.count() == job.statements_closed
    assert CloseJob.objects.count() == 2


def test_close_with_a_period_closes_only_periods_ending_by_that_months_end() -> None:
    today = timezone.now().date()
    anchor = _months_ago(today, 5)
    companies = _companies(3, anchor)
    month = _months_ago(today, 3).replace(day=1)

    _close("--period", f"{month:%Y-%m}")

    job = CloseJob.objects.get()
    assert job.period_month == month
    expected = _periods_ending_by(anchor, next_month(month))
    assert expected and all(end <= next_month(month) for _, end in expected)
    assert all(_closed_periods(c) == expected for c in companies)
    reseller_months = set(
        Statement.objects.filter(kind="reseller").values_list("period_start", flat=True)
    )
    assert reseller_months and max(reseller_months) <= month

    _close()  # without --period: the rest of what has ended

    assert all(
        _closed_periods(c) == _periods_ending_by(anchor, today - timedelta(days=1))
        for c in companies
    )


@pytest.mark.parametrize(
    ("period", "message"),
    [
        ("2026-13", "--period must be a month as YYYY-MM (for example 2026-11), not '2026-13'"),
        ("2026-1", "--period must be a month as YYYY-MM (for example 2026-11), not '2026-1'"),
        ("November", "--period must be a month as YYYY-MM (for example 2026-11), not 'November'"),
        ("0000-05", "--period must be a month as YYYY-MM (for example 2026-11), not '0000-05'"),
        ("2999-01", "--period 2999-01 has not begun: no statement of it can have ended"),
    ],
)
def test_a_bad_period_is_a_clear_error_and_starts_nothing(period: str, message: str) -> None:
    _companies(1, _months_ago(timezone.now().date(), 3))
    with pytest.raises(CommandError) as raised:
        _close("--period", period)
    assert str(raised.value) == message
    assert not CloseJob.objects.exists() and not Statement.objects.exists()


def test_enqueue_leaves_the_job_to_the_workers() -> None:
    _companies(2, _months_ago(timezone.now().date(), 3))

    output = _close("--enqueue")

    job = CloseJob.objects.get()
    assert (job.status, job.companies_total, bool(job.task_id)) == ("queued", 2, True)
    assert output.rstrip().endswith("Enqueued for the workers.")
    assert not Statement.objects.exists()
