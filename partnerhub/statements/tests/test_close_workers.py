"""Real worker processes close statements: one SIGKILLed mid-job and another resuming it,
and two at once. Afterwards every ended period has exactly one closed statement, the
numbers of each reseller run 1..n without gaps or repeats, and the job counted every
company and statement once.

As in fees/tests/test_worker_kill.py, everything runs in subprocesses against a database
of the test's own (a file SQLite database, and a scratch PostgreSQL one when the suite
runs on PostgreSQL). The workers hold each chunk open for a moment inside its
transaction, so the kill lands mid-job (and mostly mid-chunk).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django_tasks_db.models import DBTaskResult

from partnerhub.testing.processes import (
    Db,
    run_django,
    scratch_postgres,
    start_process,
    subprocess_env,
    wait_for,
)
from partnerhub.usage.periods import billing_period

TASK_TABLE = DBTaskResult._meta.db_table
RESELLERS, COMPANIES, CHUNK = 2, 12, 2  # 24 companies in 12 chunks
TOTAL = RESELLERS * COMPANIES

# Companies created (and anchored) 100-123 days back: three or four ended monthly
# periods each, on varied days (a period chain starts at the company's creation).
BACKDATE = """
from datetime import UTC, datetime, time, timedelta
from django.utils import timezone
from partnerhub.companies.models import Company
today = timezone.now().date()
for i, pk in enumerate(Company.objects.order_by("pk").values_list("pk", flat=True)):
    anchor = today - timedelta(days=100 + i)
    Company.objects.filter(pk=pk).update(
        billing_anchor=anchor, billing_currency="GBP", billing_cycle="monthly",
        created_at=datetime.combine(anchor, time(0), tzinfo=UTC),
    )
"""

SLOW_WORKER = """
import time, django
django.setup()
from partnerhub.statements import services
real = services.statements_close_companies
def held_open(**kwargs):
    closed = real(**kwargs)
    time.sleep(0.3)
    return closed
services.statements_close_companies = held_open
from django.core.management import call_command
call_command("worker", "--no-startup-delay", "--interval", "0.05")
"""


def _on_postgresql() -> bool:
    return bool(settings.DATABASES["default"]["ENGINE"].endswith("postgresql"))


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(
                not _on_postgresql(), reason="DATABASE_URL does not point at PostgreSQL"
            ),
        ),
    ]
)
def scratch_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'scratch.sqlite3'}"
        return
    # One per xdist worker: tests running at once must not share (or drop) one database.
    with scratch_postgres(f"close_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}") as url:
        yield url


def _prepare(scratch_db: str, tmp_path: Path, *, enqueue: bool = True) -> tuple[Db, dict[str, str]]:
    env = subprocess_env(scratch_db, tmp_path, RECALC_STALE_SECONDS="3")
    run_django(env, "migrate", "-v0", "--skip-checks")
    run_django(
        env, "seed", "--resellers", str(RESELLERS), "--companies", str(COMPANIES),
        "--items", "0", "--skip-checks",
    )  # fmt: skip
    run_django(env, "shell", "-c", BACKDATE)
    if not enqueue:
        return Db(scratch_db), env
    out = run_django(env, "statements", "close", "--enqueue", "--chunk-companies", str(CHUNK))
    assert "Enqueued for the workers." in out
    return Db(scratch_db), env


def _job(db: Db) -> tuple[Any, ...] | None:
    rows = db.rows(
        "SELECT status, companies_done, companies_total, statements_closed, cutoff, task_id"
        " FROM statements_closejob"
    )
    return rows[0] if rows else None


def _finished(db: Db) -> tuple[Any, ...] | None:
    job = _job(db)
    return job if job and job[0] in ("succeeded", "failed") else None


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace(" ", "T"))


def _expected_periods(db: Db, cutoff: datetime) -> dict[int, list[tuple[date, date]]]:
    """Every monthly period of each company that ended a grace before the cutoff."""
    last_end = (cutoff - timedelta(hours=24)).date()
    expected = {}
    for company_id, anchor in db.rows("SELECT id, billing_anchor FROM companies_company"):
        anchor, periods = _as_date(anchor), []
        start = anchor
        while (end := billing_period(anchor, "monthly", start).end) <= last_end:
            periods.append((start, end))
            start = end
        expected[company_id] = periods
    return expected


def _assert_closed_exactly_once(db: Db, final: tuple[Any, ...]) -> None:
    status, companies_done, companies_total, statements_closed, cutoff, _task = final
    assert status == "succeeded"
    assert (companies_done, companies_total) == (TOTAL, TOTAL)
    rows = db.rows(
        "SELECT company_id, period_start, period_end, status FROM statements_statement"
        " WHERE kind = 'company'"
    )
    assert {r[3] for r in rows} == {"closed"}
    counts = Counter((r[0], _as_date(r[1])) for r in rows)
    assert max(counts.values()) == 1  # no period closed twice
    closed: dict[int, list[tuple[date, date]]] = {}
    for company_id, start, end, _ in rows:
        closed.setdefault(company_id, []).append((_as_date(start), _as_date(end)))
    expected = _expected_periods(db, _as_datetime(cutoff))
    assert {c: sorted(p) for c, p in closed.items()} == expected
    assert all(len(p) >= 3 for p in expected.values())
    # Numbers per reseller: 1..n, no gap, no repeat, over company and reseller statements.
    numbers: dict[int, list[int]] = {}
    for reseller_id, number in db.rows(
        "SELECT reseller_id, number FROM statements_statement WHERE status = 'closed'"
    ):
        numbers.setdefault(reseller_id, []).append(number)
    assert len(numbers) == RESELLERS
    assert all(sorted(n) == list(range(1, len(n) + 1)) for n in numbers.values())
    total = db.value("SELECT COUNT(*) FROM statements_statement")
    assert statements_closed == total
    # Announced once each: the events commit with their statements, or roll back with them.
    announced = db.rows("SELECT data FROM webhooks_event WHERE type = 'statement.closed'")
    ids = [json.loads(d) if isinstance(d, str) else d for (d,) in announced]
    assert sorted(e["statement_id"] for e in ids) == sorted(
        r[0] for r in db.rows("SELECT id FROM statements_statement")
    )
    assert db.value("SELECT COUNT(*) FROM statements_statement WHERE kind = 'reseller'") > 0
    assert db.value("SELECT COUNT(*) FROM statements_closechunk WHERE NOT done") == 0


@pytest.mark.slow
def test_a_worker_killed_mid_job_is_resumed_and_every_statement_closed_once(
    scratch_db: str, tmp_path: Path
) -> None:
    db, env = _prepare(scratch_db, tmp_path)
    queued = _job(db)
    assert queued is not None and queued[0] == "queued"
    first_task = queued[5]

    worker_a = start_process(env, [sys.executable, "-c", SLOW_WORKER], tmp_path / "a.log")
    try:
        wait_for(lambda: (j := _job(db)) and j[1] >= 2 * CHUNK, 60, "progress")
    finally:
        worker_a.send_signal(signal.SIGKILL)
        worker_a.wait()
    killed = _job(db)
    assert killed is not None and killed[0] == "running", (tmp_path / "a.log").read_text()
    assert 2 * CHUNK <= killed[1] < TOTAL  # killed in the middle of the job
    assert killed[3] == db.value("SELECT COUNT(*) FROM statements_statement")  # committed only

    worker_b = start_process(
        env, [sys.executable, "-m", "django", "worker", "--no-startup-delay"], tmp_path / "b.log"
    )
    try:
        final = wait_for(lambda: _finished(db), 60, "the end of the job")
    finally:
        worker_b.send_signal(signal.SIGTERM)
        worker_b.wait(timeout=20)

    assert final[0] == "succeeded", (tmp_path / "b.log").read_text()
    _assert_closed_exactly_once(db, final)
    # The dead worker's task is retired as failed; the re-enqueued one succeeded.
    assert final[5] != first_task
    statuses = sorted(r[0] for r in db.rows(f"SELECT status FROM {TASK_TABLE}"))
    assert statuses == ["FAILED", "SUCCESSFUL"]


@pytest.mark.slow
def test_two_workers_at_once_close_every_statement_once(scratch_db: str, tmp_path: Path) -> None:
    db, env = _prepare(scratch_db, tmp_path)
    workers = [
        start_process(env, [sys.executable, "-c", SLOW_WORKER], tmp_path / f"w{i}.log")
        for i in range(2)
    ]
    try:
        final = wait_for(lambda: _finished(db), 90, "the end of the job")
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(timeout=20)

    logs = "\n".join(p.read_text() for p in tmp_path.glob("w*.log"))
    assert final[0] == "succeeded", logs
    _assert_closed_exactly_once(db, final)
    chunk_workers = {r[0] for r in db.rows("SELECT worker_id FROM statements_closechunk")}
    if scratch_db.startswith("postgres"):
        # SKIP LOCKED: both took chunks (SQLite runs one writer at a time).
        assert len({w.split(":")[1] for w in chunk_workers}) == 2


@pytest.mark.slow
def test_idle_workers_start_one_close_once_a_periods_grace_has_passed(
    scratch_db: str, tmp_path: Path
) -> None:
    db, env = _prepare(scratch_db, tmp_path, enqueue=False)
    assert _job(db) is None
    workers = [
        start_process(
            env, [sys.executable, "-m", "django", "worker", "--no-startup-delay"],
            tmp_path / f"w{i}.log",
        )
        for i in range(2)
    ]  # fmt: skip
    try:
        final = wait_for(lambda: _finished(db), 60, "the worker's own close job")
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(timeout=20)

    logs = "\n".join(p.read_text() for p in tmp_path.glob("w*.log"))
    assert final[0] == "succeeded", logs
    # Both checked at start; the lock let one of them start the job.
    assert db.value("SELECT COUNT(*) FROM statements_closejob") == 1
    _assert_closed_exactly_once(db, final)
