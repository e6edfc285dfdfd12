"""Idle workers are woken when there is recalculation work (fees/wakeup.py, issue #16).

On PostgreSQL a notification goes out with the transaction that makes the work; a
worker's listener wakes its task loop and its help loop. Without it, a job's start
waits for the worker's next poll, and each helper's join for its own.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import psycopg
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from partnerhub.fees import wakeup
from partnerhub.fees.wakeup import CHANNEL, Wakeup, listen_loop, recalc_wake_workers
from partnerhub.testing.processes import (
    Db,
    run_django,
    scratch_postgres,
    seeded_env,
    start_process,
    stop_all,
    wait_for,
)

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="notifications are PostgreSQL's (SQLite polls)"
)


def test_a_wait_ends_when_woken_and_not_before() -> None:
    w = Wakeup()
    assert w.wait(0.01) is False
    woken: list[bool] = []
    waiter = threading.Thread(target=lambda: woken.append(w.wait(30)))
    waiter.start()
    while not woken and waiter.is_alive():
        w.wake()  # the waiter may not be waiting yet: wake until it has noticed
        waiter.join(0.01)
    assert woken == [True]


def test_a_wake_while_the_caller_looked_for_work_is_not_missed() -> None:
    w = Wakeup()
    mark = w.mark()
    w.wake()  # arrives after the mark, before the wait
    assert w.wait(30, since=mark) is True
    assert w.wait(0.01, since=w.mark()) is False


def _listener(url: str) -> psycopg.Connection[tuple[object, ...]]:
    conn = psycopg.connect(url, autocommit=True)
    conn.execute(f"LISTEN {CHANNEL}")
    return conn


def _received(conn: psycopg.Connection[tuple[object, ...]], timeout: float) -> int:
    return sum(1 for _ in conn.notifies(timeout=timeout, stop_after=1))


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_workers_are_told_when_the_transaction_commits_and_never_on_rollback() -> None:
    settings_dict = connection.settings_dict
    listener = _listener(
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST'] or '127.0.0.1'}:"
        f"{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
    )
    try:
        with transaction.atomic():
            recalc_wake_workers()
            assert _received(listener, 0.2) == 0  # not yet: the work is not visible
        assert _received(listener, 10) == 1

        with pytest.raises(RuntimeError), transaction.atomic():
            recalc_wake_workers()
            raise RuntimeError("rolled back")
        assert _received(listener, 0.5) == 0
    finally:
        listener.close()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_listen_loop_wakes_its_waiters_on_each_notification() -> None:
    w, stop = Wakeup(), threading.Event()
    mark = w.mark()
    thread = threading.Thread(target=listen_loop, args=(w, stop), daemon=True)
    thread.start()
    try:
        assert w.wait(10, since=mark)  # it wakes once when it starts listening
        for _ in range(3):
            mark = w.mark()
            with transaction.atomic():
                recalc_wake_workers()
            assert w.wait(10, since=mark)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


@pytest.mark.django_db
def test_without_notifications_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wakeup, "notifications_supported", lambda: False)
    with CaptureQueriesContext(connection) as queries:
        recalc_wake_workers()
    assert len(queries) == 0


ENQUEUE = """
from partnerhub.core.actor import SYSTEM
from partnerhub.fees.jobs import recalculation_enqueue
from partnerhub.plans.models import Plan
plan = Plan.objects.get()
recalculation_enqueue(actor=SYSTEM, reseller_id=plan.reseller_id, plan_id=plan.pk, reason="wake")
"""


@postgres_only
@pytest.mark.slow
def test_an_idle_worker_starts_a_job_without_waiting_for_its_poll(tmp_path: Path) -> None:
    with scratch_postgres("wakeup") as url:
        env = seeded_env(url, tmp_path, companies=4, items=20, RECALC_CHUNK_ITEMS="10")
        # Polls a minute apart: only the notifications can start the job and the helper.
        argv = [sys.executable, "-m", "django", "worker", "--no-startup-delay", "--interval", "60"]
        workers = [start_process(env, argv, tmp_path / f"w{i}.log") for i in range(2)]
        try:
            logs = lambda: "".join(p.read_text() for p in tmp_path.glob("w*.log"))  # noqa: E731
            wait_for(lambda: logs().count("Starting worker") == 2, 60, "the workers")
            # Both loops are idle (the help loop's first poll found nothing): what starts
            # the job now is the enqueue's notification, well inside the 60 s poll.
            run_django(env, "shell", "-c", ENQUEUE)
            db = Db(url)
            wait_for(
                lambda: db.value("SELECT status FROM fees_recalcjob") in ("succeeded", "failed"),
                30,
                "the job",
            )
            assert db.value("SELECT status FROM fees_recalcjob") == "succeeded", logs()
            assert db.value("SELECT items_done FROM fees_recalcjob") == 80
        finally:
            stop_all(workers)
