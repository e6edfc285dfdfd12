"""Stored fees never go stale (issue 11, item 1; docs/architecture.md).

Once the job queue is empty, every item whose fees were last set under "all" (or
forced) equals a fresh quote from its company's effective schedule, whatever
interleaving of plan edits, fee-source changes, resets, item edits and job
starts happened. The deterministic reproduction goes through the API as the
probe did; the stateful tests explore interleavings, in process (job starts and
chunks are steps of their own) and against a real worker process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    precondition,
    rule,
    run_state_machine_as_test,
)

from partnerhub.accounts.services import api_key_create
from partnerhub.companies.services import company_reset_plan_fees, company_update
from partnerhub.core.actor import Actor, platform_actor
from partnerhub.fees import recalc
from partnerhub.fees.models import RecalcJob, SaleItem
from partnerhub.fees.services import sale_item_create, sale_item_update
from partnerhub.fees.tests.factories import add_fee, set_gateway_fee
from partnerhub.fees.tests.oracle import FeeOracle, stale_items
from partnerhub.plans.models import Plan
from partnerhub.plans.services import plan_update
from partnerhub.testing.factories import CompanyFactory, PlanFactory

ITEM = {"name": "Adult GA", "currency": "GBP", "fee_type": "ticket", "price_minor": 2000}
UNFINISHED = (RecalcJob.Status.QUEUED, RecalcJob.Status.RUNNING)


# --- The deterministic reproduction, through the API -------------------------------


def _api(client: Client, key: str) -> Callable[[str, str, dict[str, Any]], Any]:
    def call(method: str, path: str, body: dict[str, Any]) -> Any:
        response = getattr(client, method)(
            f"/api/v1{path}",
            data=json.dumps(body),
            content_type="application/json",
            headers={"Authorization": f"Bearer {key}"},
        )
        assert response.status_code == 200, response.content
        return response.json()

    return call


@pytest.mark.django_db(transaction=True)  # the worker loop commits and closes its connection
def test_company_leaving_plan_fees_while_the_plan_job_is_queued_gets_the_new_fees(
    catalog_seeded, personas, client
) -> None:
    p = personas
    add_fee(p.plan_a.fee_schedule_id, "GBP", "ticket", 250, 30)
    set_gateway_fee("GBP", 200, 8)
    item = sale_item_create(actor=p.admin_a, company_id=p.company_a.pk, data=ITEM)
    assert (item.reseller_fee_minor, item.gateway_fee_minor) == (80, 48)
    key = api_key_create(
        actor=platform_actor("test"), scope="reseller_admin", reseller_id=p.reseller_a.pk
    )[1]
    api = _api(client, key)
    new_fees = [{"currency": "GBP", "fee_type": "ticket", "percent_bps": 500, "fixed_minor": 0}]

    edited = api(
        "patch",
        f"/plans/{p.plan_a.pk}",
        {"version": p.plan_a.version, "fees": new_fees, "fee_apply_mode": "all"},
    )
    assert edited["job_id"] is not None  # queued, not run yet
    left = api(
        "patch", f"/companies/{p.company_a.pk}", {"use_plan_fees": False, "fee_apply_mode": "all"}
    )
    # Its own fees are a copy of the new plan fees: nothing changed for it, no job of its own.
    assert (left["use_plan_fees"], left["job_id"]) == (False, None)

    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)

    assert not RecalcJob.objects.filter(status__in=UNFINISHED).exists()
    item.refresh_from_db()
    assert (item.reseller_fee_minor, item.gateway_fee_minor, item.fee_revision) == (100, 48, 2)
    assert stale_items([item.pk]) == []


# The lock-wait tests: their subject is PostgreSQL's row locks (CI's PostgreSQL pass runs them).
postgres_row_locks = pytest.mark.skipif(
    not django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
    reason="SQLite runs one writer at a time; the row lock is PostgreSQL's",
)


@postgres_row_locks
@pytest.mark.django_db(transaction=True)
def test_a_fee_source_change_waits_for_a_plan_edit_in_flight(catalog_seeded, personas) -> None:
    """The plan edit decides its job's companies while holding the plan row; a company
    leaving the plan's fees meanwhile must wait, or the job could miss it."""
    p = personas
    add_fee(p.plan_a.fee_schedule_id, "GBP", "ticket", 250, 30)
    locked, release, left = threading.Event(), threading.Event(), threading.Event()

    def plan_edit_in_flight() -> None:
        try:
            with transaction.atomic():
                Plan.objects.select_for_update().get(pk=p.plan_a.pk)
                locked.set()
                release.wait(20)
        finally:
            connection.close()

    def leave_plan_fees() -> None:
        try:
            company_update(
                actor=p.admin_a,
                company_id=p.company_a.pk,
                changes={"use_plan_fees": False},
                fee_apply_mode="all",
            )
            left.set()
        finally:
            connection.close()

    editor = threading.Thread(target=plan_edit_in_flight)
    editor.start()
    assert locked.wait(20)
    leaver = threading.Thread(target=leave_plan_fees)
    leaver.start()
    try:
        assert not left.wait(1.5)  # blocked on the plan row
    finally:
        release.set()
        editor.join(20)
        leaver.join(20)
    assert left.is_set()


@postgres_row_locks
@pytest.mark.django_db(transaction=True)
def test_an_item_write_waiting_on_a_fee_source_change_prices_from_the_new_schedule(
    catalog_seeded, personas
) -> None:
    """An item edit that waits for a company leaving plan fees to commit must read the
    company's new own schedule whole. With the share lock on the terms query itself,
    PostgreSQL re-read only the company row after the wait, not its new fee entries, and
    the edit was refused for "no ticket fee for GBP" (seen by test_load.py)."""
    p = personas
    add_fee(p.plan_a.fee_schedule_id, "GBP", "ticket", 250, 30)
    item = sale_item_create(actor=p.admin_a, company_id=p.company_a.pk, data=ITEM)
    left, release, written = threading.Event(), threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def leave_and_hold() -> None:
        try:
            with transaction.atomic():
                company_update(
                    actor=p.admin_a,
                    company_id=p.company_a.pk,
                    changes={"use_plan_fees": False},
                    fee_apply_mode="new",
                )
                left.set()
                release.wait(20)
        finally:
            connection.close()

    def edit_item() -> None:
        try:
            sale_item_update(actor=p.admin_a, item_id=item.pk, changes={"price_minor": 5000})
            written.set()
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    leaver = threading.Thread(target=leave_and_hold)
    leaver.start()
    assert left.wait(20)
    editor = threading.Thread(target=edit_item)
    editor.start()
    try:
        assert not written.wait(1.0)  # waits for the company's row
    finally:
        release.set()
        leaver.join(20)
        editor.join(20)
    assert failures == []
    item.refresh_from_db()
    # The company's own schedule is a copy of the plan's: 2.5 % of 50.00 + 0.30.
    assert (item.price_minor, item.reseller_fee_minor) == (5000, 155)


# --- Stateful: every interleaving of edits, fee-source changes and job starts -------

# Weighted towards "all": the invariant binds only what "all" (or a create) priced.
MODES = st.sampled_from(["all", "all", "new"])
PERCENTS = st.sampled_from([0, 500, 750])  # the schedules start at 250 bps + 30
FIXED = st.sampled_from([0, 30])
PRICES = st.sampled_from([0, 999, 2000, 123_456])
PLANS, COMPANIES = 2, 3
WORKER_ID = "stateful-test:0:x"  # the in-process "worker" (never presumed dead)


def _fees(percent: int, fixed: int) -> list[dict[str, Any]]:
    return [{"currency": "GBP", "fee_type": "ticket", "percent_bps": percent, "fixed_minor": fixed}]


class FeeMachine(RuleBasedStateMachine):
    """Plans, companies on them and their items, built fresh for every example."""

    actor: Actor  # set by the test (personas.admin_a)
    reseller_id: int

    def __init__(self) -> None:
        super().__init__()
        plans = [PlanFactory(reseller_id=self.reseller_id) for _ in range(PLANS)]
        for plan in plans:
            add_fee(plan.fee_schedule_id, "GBP", "ticket", 250, 30)
        companies = [
            CompanyFactory(reseller_id=self.reseller_id, plan=plans[i % PLANS])
            for i in range(COMPANIES)
        ]
        self.plan_ids = [p.pk for p in plans]
        self.company_ids = [c.pk for c in companies]
        self.oracle = FeeOracle(company_ids=self.company_ids)
        self.item_ids: list[int] = []
        for company_id in self.company_ids:
            self._create_item(company_id, 2000)

    def _create_item(self, company_id: int, price: int) -> None:
        item = sale_item_create(
            actor=self.actor, company_id=company_id, data=ITEM | {"price_minor": price}
        )
        self.item_ids.append(item.pk)
        self.oracle.priced(item.pk)

    @rule(
        plan=st.integers(0, PLANS - 1),
        percent=PERCENTS,
        fixed=FIXED,
        blended=st.booleans(),
        mode=MODES,
    )
    def edit_plan_fees(self, plan: int, percent: int, fixed: int, blended: bool, mode: str) -> None:
        def edit() -> Any:
            current = Plan.objects.get(pk=self.plan_ids[plan])
            return plan_update(
                actor=self.actor,
                plan_id=current.pk,
                version=current.version,
                changes={"fees": _fees(percent, fixed), "blended": {"GBP": blended}},
                fee_apply_mode=mode,
            )

        self.oracle.schedule_change(mode, edit)

    @rule(
        company=st.integers(0, COMPANIES - 1),
        change=st.sampled_from(["leave", "leave", "reset", *(f"plan {i}" for i in range(PLANS))]),
        mode=MODES,
    )
    def change_fee_source(self, company: int, change: str, mode: str) -> None:
        """Leave plan fees (keeping a copy as its own), reset to them, or move plans."""
        company_id = self.company_ids[company]

        def edit() -> Any:
            if change == "reset":
                return company_reset_plan_fees(
                    actor=self.actor, company_id=company_id, fee_apply_mode=mode
                )
            changes: dict[str, Any] = (
                {"use_plan_fees": False}
                if change == "leave"
                else {"plan_id": self.plan_ids[int(change.split()[1])]}
            )
            return company_update(
                actor=self.actor, company_id=company_id, changes=changes, fee_apply_mode=mode
            )

        self.oracle.schedule_change(mode, edit)

    @rule(
        company=st.integers(0, COMPANIES - 1),
        percent=PERCENTS,
        fixed=FIXED,
        blended=st.booleans(),
        mode=MODES,
    )
    def edit_own_fees(
        self, company: int, percent: int, fixed: int, blended: bool, mode: str
    ) -> None:
        # Refused (and so a no-op for the model) while the company uses its plan's fees.
        self.oracle.schedule_change(
            mode,
            lambda: company_update(
                actor=self.actor,
                company_id=self.company_ids[company],
                changes={"fees": _fees(percent, fixed), "blended": {"GBP": blended}},
                fee_apply_mode=mode,
            ),
        )

    @rule(company=st.integers(0, COMPANIES - 1), price=PRICES, edit=st.booleans())
    def write_item(self, company: int, price: int, edit: bool) -> None:
        """Create an item, or edit the price of the company's first one."""
        company_id = self.company_ids[company]
        first = SaleItem.objects.filter(company_id=company_id).order_by("pk").first()
        if edit and first is not None:
            sale_item_update(actor=self.actor, item_id=first.pk, changes={"price_minor": price})
            self.oracle.priced(first.pk)
        else:
            self._create_item(company_id, price)

    def drain(self) -> None:
        """Run every queued job to its end: in-process or through a real worker (each
        subclass says how)."""
        raise NotImplementedError

    @rule()
    def drain_and_check(self) -> None:
        self.drain()
        assert self.oracle.violations() == []

    def teardown(self) -> None:
        self.drain()
        assert self.oracle.violations() == []


class InProcessFeeMachine(FeeMachine):
    """Jobs run here, a step at a time: a job may start, or run one chunk, between any edits."""

    def _unfinished(self) -> list[RecalcJob]:
        return list(RecalcJob.objects.filter(status__in=UNFINISHED).order_by("pk"))

    @precondition(lambda self: any(j.scope_company_ids is None for j in self._unfinished()))
    @rule(data=st.data())
    def start_a_job(self, data: st.DataObject) -> None:
        waiting = [j.pk for j in self._unfinished() if j.scope_company_ids is None]
        recalc.job_claim(data.draw(st.sampled_from(waiting)), WORKER_ID)

    @precondition(
        lambda self: any(j.status == RecalcJob.Status.RUNNING for j in self._unfinished())
    )
    @rule(data=st.data())
    def run_one_chunk(self, data: st.DataObject) -> None:
        running = [j.pk for j in self._unfinished() if j.status == RecalcJob.Status.RUNNING]
        recalc.chunk_run(data.draw(st.sampled_from(running)), WORKER_ID)

    def drain(self) -> None:
        recalc.recalculation_resume_all(worker_id=WORKER_ID)
        assert not RecalcJob.objects.filter(status__in=UNFINISHED).exists()


HELPER_ID = "helper-host:2:h"


class InProcessParallelFeeMachine(InProcessFeeMachine):
    """As above, with a second worker (issue #16): any running job's next free chunk may
    run as that helper's, between any edits; the test makes chunks two items long, so a
    company's items are split over several chunks."""

    @precondition(
        lambda self: any(j.status == RecalcJob.Status.RUNNING for j in self._unfinished())
    )
    @rule(data=st.data())
    def help_with_one_chunk(self, data: st.DataObject) -> None:
        running = [j.pk for j in self._unfinished() if j.status == RecalcJob.Status.RUNNING]
        recalc.chunk_run(data.draw(st.sampled_from(running)), HELPER_ID, owner=False)

    def drain(self) -> None:
        super().drain()
        # Both workers' chunks counted once each: every job's counters are its chunks'.
        for job in RecalcJob.objects.filter(scope_company_ids__isnull=False):
            chunks = list(job.chunks.all())
            assert all(c.done for c in chunks)
            assert job.companies_done == sum(c.companies_completed for c in chunks)
            assert job.companies_done == job.companies_total


class RealWorkerFeeMachine(FeeMachine):
    """Jobs run in a real worker process, concurrently with the edits."""

    @rule()
    def let_the_worker_run(self) -> None:
        time.sleep(0.3)

    def drain(self) -> None:
        deadline = time.monotonic() + 60
        while RecalcJob.objects.filter(status__in=UNFINISHED).exists():
            assert time.monotonic() < deadline, "the worker did not drain the queue"
            time.sleep(0.05)
        failed = RecalcJob.objects.filter(status=RecalcJob.Status.FAILED)
        assert not failed.exists(), [j.error for j in failed]


def _run(machine: type[FeeMachine], personas: Any, examples: int, steps: int) -> None:
    machine.actor = personas.admin_a
    machine.reseller_id = personas.reseller_a.pk
    set_gateway_fee("GBP", 200, 8)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


def test_stored_fees_equal_fresh_quotes_once_the_queue_is_empty_in_process(personas) -> None:
    _run(InProcessFeeMachine, personas, examples=12, steps=15)


def test_stored_fees_equal_fresh_quotes_once_the_queue_is_empty_with_two_workers_in_process(
    personas, monkeypatch
) -> None:
    monkeypatch.setattr(django_settings, "RECALC_CHUNK_ITEMS", 2)
    _run(InProcessParallelFeeMachine, personas, examples=12, steps=15)


def _worker_database_url() -> str | None:
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
        return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    name = str(db["NAME"])
    if name in ("", ":memory:") or name.startswith("file:"):
        return None  # an in-memory database: no other process can open it
    return f"sqlite:///{name}"


@pytest.fixture
def real_worker(catalog_seeded, tmp_path: Path) -> Iterator[None]:
    url = _worker_database_url()
    if url is None:
        pytest.skip("needs a database another process can open (PostgreSQL, or a file SQLite)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        PARTNERHUB_DEV="1",
        DATABASE_URL=url,
        PARTNERHUB_DATA_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="partnerhub.settings",
        RECALC_CHUNK_COMPANIES="1",
        LOG_LEVEL="WARNING",
    )
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "django", "worker", "--no-startup-delay", "--interval", "0.05"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_stored_fees_equal_fresh_quotes_once_the_queue_is_empty_with_a_real_worker(
    real_worker, personas
) -> None:
    _run(RealWorkerFeeMachine, personas, examples=6, steps=12)
