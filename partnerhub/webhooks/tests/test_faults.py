"""Faults with a real HTTP receiver on loopback and real worker processes (SPEC §14).

The receiver (in this process) verifies every request with the `standardwebhooks`
package. Workers are `partnerhub worker` subprocesses on a database of the test's own
(a SQLite file, or a scratch PostgreSQL database when DATABASE_URL points there). A
short retry schedule and lease keep each test within seconds.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from standardwebhooks import Webhook

from partnerhub.testing.processes import (
    Db,
    free_port,
    run_django,
    scratch_postgres,
    subprocess_env,
    wait_for,
)

COMPANIES = 40

SETUP = f"""
from partnerhub.core.actor import platform_actor
from partnerhub.testing.factories import CompanyFactory, PlanFactory, ResellerFactory
from partnerhub.webhooks.services import endpoint_create
reseller = ResellerFactory(slug="faults", features=["plans", "seating", "vouchers"])
plan = PlanFactory(reseller=reseller, name="gold", features=["plans", "seating"])
for n in range({COMPANIES}):
    CompanyFactory(reseller=reseller, plan=plan, name=f"company {{n}}")
created = endpoint_create(actor=platform_actor("test"), reseller_id=reseller.pk, url=URL)
print(created.secret)
"""

# The change under test: a plan edit reaching every company (one fan-out), in a
# separate process, as a web request would make it.
EDIT = """
from partnerhub.core.actor import platform_actor
from partnerhub.plans.models import Plan
from partnerhub.plans.services import plan_update
plan = Plan.objects.get(name="gold")
plan_update(actor=platform_actor("test"), plan_id=plan.pk, changes={"features": ["plans"]},
            version=plan.version)
"""

# A worker whose fan-out batches take a while, so a kill lands in the middle of one.
SLOW_FANOUT_WORKER = """
import time, django
django.setup()
from partnerhub.webhooks import worker
real = worker.fanout_run_batch
def slow(**kwargs):
    time.sleep(0.3)
    return real(**kwargs)
worker.fanout_run_batch = slow
from django.core.management import call_command
call_command("worker", "--no-startup-delay")
"""


@pytest.fixture
def scratch_db(tmp_path: Path) -> Iterator[str]:
    """A database of the test's own: a SQLite file, or a scratch PostgreSQL database when
    the suite runs on PostgreSQL."""
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        yield f"sqlite:///{tmp_path / 'hooks.sqlite3'}"
        return
    with scratch_postgres("hookfaults") as url:
        yield url


@dataclass
class Receiver:
    """Verifies each request; `answer()` decides the status. Thread-safe records."""

    port: int
    secret: str = ""
    answer: Callable[[], int] = lambda: 200
    delay: float = 0.0
    bodies: dict[str, set[bytes]] = field(default_factory=dict)  # webhook-id -> bodies
    succeeded: set[str] = field(default_factory=set)
    requests: int = 0
    unverified: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the worker's client expects

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    Webhook(receiver.secret).verify(body, headers)
                    verified = True
                except Exception:
                    verified = False
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = receiver.answer() if verified else 400
                with receiver.lock:
                    receiver.requests += 1
                    receiver.unverified += not verified
                    msg_id = headers["webhook-id"]
                    receiver.bodies.setdefault(msg_id, set()).add(body)
                    if status == 200:
                        receiver.succeeded.add(msg_id)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver(port=free_port())
    yield receiver
    receiver.stop()


def _env(url: str, tmp_path: Path) -> dict[str, str]:
    return subprocess_env(
        url,
        tmp_path,
        PARTNERHUB_WEBHOOK_ALLOW_PRIVATE="1",
        PARTNERHUB_WEBHOOK_RETRY_SCHEDULE="0.3,0.5,0.5,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1",
        PARTNERHUB_WEBHOOK_LEASE_SECONDS="3",
        PARTNERHUB_WEBHOOK_FANOUT_BATCH="4",
        PARTNERHUB_WEBHOOK_CONCURRENCY="4",
    )


def _prepare(scratch_db: str, tmp_path: Path, receiver: Receiver) -> tuple[Db, dict[str, str]]:
    env = _env(scratch_db, tmp_path)
    run_django(env, "migrate", "-v0", "--skip-checks")
    receiver.secret = (
        run_django(env, "shell", "-c", f"URL = {receiver.url!r}\n{SETUP}").strip().splitlines()[-1]
    )
    return Db(scratch_db), env


def _worker(env: dict[str, str], log: Path, code: str | None = None) -> subprocess.Popen[bytes]:
    argv = (
        [sys.executable, "-c", code]
        if code
        else [sys.executable, "-m", "django", "worker", "--no-startup-delay"]
    )
    return subprocess.Popen(argv, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def _stop(worker: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    worker.send_signal(sig)
    worker.wait(timeout=30)


def _event_ids(db: Db) -> set[str]:
    return {f"evt_{r[0]}" for r in db.rows("SELECT id FROM webhooks_event")}


def _all_delivered(db: Db, receiver: Receiver) -> bool:
    ids = _event_ids(db)
    with receiver.lock:
        received = len(ids) == COMPANIES + 1 and ids <= receiver.succeeded
    return received and not db.value(
        "SELECT COUNT(*) FROM webhooks_delivery WHERE status <> 'succeeded'"
    )


def _assert_complete(db: Db, receiver: Receiver) -> None:
    counts = db.rows("SELECT type, COUNT(*) FROM webhooks_event GROUP BY type ORDER BY type")
    assert counts == [("company.entitlements_changed", COMPANIES), ("plan.updated", 1)]
    companies = db.rows(
        "SELECT COUNT(DISTINCT id) FROM webhooks_event WHERE type = 'company.entitlements_changed'"
    )
    assert companies == [(COMPANIES,)]
    assert _event_ids(db) <= receiver.succeeded
    assert receiver.unverified == 0
    # Every retry and every duplicate of an event carried the same webhook-id and body.
    assert all(len(bodies) == 1 for bodies in receiver.bodies.values())
    per_company = [
        json.loads(next(iter(b)))["data"].get("company_id") for b in receiver.bodies.values()
    ]
    assert len({c for c in per_company if c is not None}) == COMPANIES
    pending = db.value("SELECT COUNT(*) FROM webhooks_delivery WHERE status <> 'succeeded'")
    assert pending == 0


@pytest.mark.slow
def test_receiver_down_then_up_gets_every_event(scratch_db, tmp_path, receiver):
    db, env = _prepare(scratch_db, tmp_path, receiver)
    worker = _worker(env, tmp_path / "worker.log")
    try:
        run_django(env, "shell", "-c", EDIT)
        wait_for(
            lambda: (
                db.value("SELECT COUNT(*) FROM webhooks_delivery WHERE attempts >= 2") >= COMPANIES
            ),
            60,
            "failed attempts while the receiver is down",
        )
        assert receiver.requests == 0
        receiver.start()
        wait_for(lambda: _all_delivered(db, receiver), 60, "every delivery")
    finally:
        _stop(worker)
    _assert_complete(db, receiver)


@pytest.mark.slow
def test_random_500s_still_deliver_everything_with_a_stable_webhook_id(
    scratch_db, tmp_path, receiver
):
    db, env = _prepare(scratch_db, tmp_path, receiver)
    chance = random.Random(15)
    receiver.answer = lambda: 500 if chance.random() < 0.5 else 200
    receiver.start()
    worker = _worker(env, tmp_path / "worker.log")
    try:
        run_django(env, "shell", "-c", EDIT)
        wait_for(lambda: _all_delivered(db, receiver), 90, "every delivery")
    finally:
        _stop(worker)
    _assert_complete(db, receiver)
    retried = db.value("SELECT COUNT(*) FROM webhooks_delivery WHERE attempts > 1")
    assert retried > 0  # the 500s did happen, and were retried under the same id
    assert receiver.requests > COMPANIES + 1


@pytest.mark.slow
def test_workers_killed_mid_fanout_and_mid_delivery_lose_nothing(scratch_db, tmp_path, receiver):
    db, env = _prepare(scratch_db, tmp_path, receiver)
    receiver.delay = 0.15  # slow enough that a kill lands with deliveries in flight
    receiver.start()
    run_django(env, "shell", "-c", EDIT)

    first = _worker(env, tmp_path / "a.log", SLOW_FANOUT_WORKER)
    try:
        wait_for(lambda: db.value("SELECT cursor FROM webhooks_fanout") > 0, 60, "fan-out progress")
    finally:
        _stop(first, signal.SIGKILL)
    done, cursor = db.rows("SELECT done, cursor FROM webhooks_fanout")[0]
    assert not done and cursor > 0  # killed in the middle of the fan-out

    second = _worker(env, tmp_path / "b.log")
    try:
        wait_for(
            lambda: (
                db.value("SELECT COUNT(*) FROM webhooks_delivery WHERE status = 'succeeded'")
                > COMPANIES // 4
            ),
            60,
            "some deliveries",
        )
    finally:
        _stop(second, signal.SIGKILL)
    succeeded = db.value("SELECT COUNT(*) FROM webhooks_delivery WHERE status = 'succeeded'")
    assert succeeded < COMPANIES + 1  # killed in the middle of the deliveries

    third = _worker(env, tmp_path / "c.log")
    try:
        wait_for(lambda: _all_delivered(db, receiver), 90, "every delivery after restart")
    finally:
        _stop(third)
    _assert_complete(db, receiver)


@pytest.mark.slow
def test_worker_killed_with_a_batch_in_flight_loses_nothing(scratch_db, tmp_path, receiver):
    """SIGKILL while a claimed batch is being sent (leased, some requests answered, none
    recorded): after the lease another worker sends the batch again, same webhook-ids."""
    db, env = _prepare(scratch_db, tmp_path, receiver)
    receiver.delay = 0.5
    receiver.start()
    run_django(env, "shell", "-c", EDIT)
    in_flight = (
        "SELECT COUNT(*) FROM webhooks_delivery"
        " WHERE status = 'pending' AND claimed_until IS NOT NULL"
    )

    first = _worker(env, tmp_path / "a.log")
    try:
        wait_for(lambda: receiver.requests > 0 and db.value(in_flight) > 0, 60, "a batch in flight")
    finally:
        _stop(first, signal.SIGKILL)
    assert db.value(in_flight) > 0  # killed with its batch claimed and not recorded

    second = _worker(env, tmp_path / "b.log")
    try:
        wait_for(lambda: _all_delivered(db, receiver), 90, "every delivery after restart")
    finally:
        _stop(second)
    _assert_complete(db, receiver)
    assert receiver.requests >= COMPANIES + 1
