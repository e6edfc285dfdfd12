"""Recalculation jobs: scope, chunks, exact counts, resumption, recovery, supersession."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.tasks import TaskResultStatus
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from partnerhub.audit.models import AuditEvent
from partnerhub.companies.models import Company
from partnerhub.companies.services import company_update
from partnerhub.core.actor import SYSTEM
from partnerhub.core.errors import NotFound
from partnerhub.fees import recalc
from partnerhub.fees.jobs import recalculation_enqueue, recalculation_recover_stale
from partnerhub.fees.models import RecalcChunk, RecalcJob, SaleItem
from partnerhub.fees.selectors import job_get_for_actor, job_list_for_actor, job_serialize
from partnerhub.fees.services import sale_item_create
from partnerhub.fees.terms import rates_statistics_ensure
from partnerhub.fees.tests.factories import add_fee, set_gateway_fee
from partnerhub.testing.factories import CompanyFactory

ITEM = {"name": "Adult GA", "currency": "GBP", "fee_type": "ticket", "price_minor": 2000}
Status = RecalcJob.Status
# What only PostgreSQL has: its planner's choices and settings, and row locks a concurrent
# worker skips. SQLite plans these statements simply and runs one writer at a time; CI's
# PostgreSQL pass runs these tests.
postgresql_only = pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
    reason="PostgreSQL's planner and row locks; SQLite runs one writer at a time",
)


@pytest.fixture
def plan_world(personas, settings):
    """Five companies on plan gold (3 items each), one off plan fees, one of reseller B."""
    settings.RECALC_CHUNK_COMPANIES = 2
    p = personas
    add_fee(p.plan_a.fee_schedule_id, "GBP", "ticket", 250, 30)
    set_gateway_fee("GBP", 200, 8)
    companies = [p.company_a] + [
        CompanyFactory(reseller=p.reseller_a, plan=p.plan_a) for _ in range(4)
    ]
    own = CompanyFactory(
        reseller=p.reseller_a, plan=p.plan_a, use_plan_fees=False, has_own_fees=True
    )
    add_fee(own.fee_schedule_id, "GBP", "ticket", 100, 0)
    for company in [*companies, own]:
        for price in (1000, 2000, 3000):
            sale_item_create(
                actor=p.admin_a, company_id=company.pk, data=ITEM | {"price_minor": price}
            )
    p.on_plan = companies
    p.own = own
    return p


def _fees(company: Company) -> list[tuple[int, int, bool, int]]:
    return list(
        SaleItem.objects.filter(company=company)
        .order_by("price_minor")
        .values_list("reseller_fee_minor", "gateway_fee_minor", "blended", "fee_revision")
    )


def _enqueue_plan_job(p) -> RecalcJob:
    with transaction.atomic():
        return recalculation_enqueue(
            actor=p.admin_a, reseller_id=p.reseller_a.pk, plan_id=p.plan_a.pk, reason="test"
        )


def test_plan_job_recalculates_every_item_of_companies_using_plan_fees(plan_world) -> None:
    p = plan_world
    add_fee(p.plan_a.fee_schedule_id, "GBP", "ticket", 500, 0, blended=True)
    job = _enqueue_plan_job(p)

    done = recalc.recalculation_run(job_id=job.pk)

    assert done is not None and done.status == Status.SUCCEEDED
    assert (done.companies_total, done.companies_done) == (5, 5)
    assert (done.items_total, done.items_done) == (15, 15)
    assert done.started_at and done.finished_at and done.error is None
    for company in p.on_plan:
        assert _fees(company) == [(50, 28, True, 2), (100, 48, True, 2), (150, 68, True, 2)]
    # The company off plan fees is never touched by a plan fee change.
    assert _fees(p.own) == [(10, 28, False, 1), (20, 48, False, 1), (30, 68, False, 1)]
    assert AuditEvent.objects.filter(action="job.succeeded", object_id=job.pk).exists()


def test_enqueue_writes_job_and_task_in_the_callers_transaction(plan_world) -> None:
    p = plan_world
    job = _enqueue_plan_job(p)
    task = DBTaskResult.objects.get(pk=job.task_id)
    assert task.status == TaskResultStatus.READY
    assert task.args_kwargs["kwargs"] == {"job_id": job.pk}

    jobs, tasks = RecalcJob.objects.count(), DBTaskResult.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        _enqueue_plan_job(p)
        raise RuntimeError("the edit fails")
    assert (RecalcJob.objects.count(), DBTaskResult.objects.count()) == (jobs, tasks)


def test_job_killed_between_chunks_resumes_without_counting_twice(plan_world) -> None:
    p = plan_world
    add_fee(p.plan_a.fee_schedule_id, "GBP", "ticket", 0, 7)
    job = _enqueue_plan_job(p)
    dead = "gone-host:1:x"
    recalc.job_claim(job.pk, dead)
    assert recalc.chunk_run(job.pk, dead)  # one chunk of two companies, then "SIGKILL"
    RecalcJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))

    done = recalc.recalculation_run(job_id=job.pk, worker_id="new-host:2:y")

    assert done.status == Status.SUCCEEDED and done.attempts == 2
    assert (done.companies_done, done.items_done) == (5, 15)
    for company in p.on_plan:
        assert [f[0] for f in _fees(company)] == [7, 7, 7]
        assert {f[3] for f in _fees(company)} == {2}  # each item rewritten exactly once


def test_a_job_alive_on_another_worker_is_left_alone(plan_world) -> None:
    p = plan_world
    job = _enqueue_plan_job(p)
    recalc.job_claim(job.pk, "busy-host:1:x")

    assert recalc.recalculation_run(job_id=job.pk, worker_id="me:2:y").status == Status.RUNNING
    job.refresh_from_db()
    assert (job.worker_id, job.companies_done) == ("busy-host:1:x", 0)
    assert recalculation_recover_stale() == []


def test_a_worker_that_lost_its_job_stops_without_touching_it(plan_world) -> None:
    p = plan_world
    job = _enqueue_plan_job(p)
    recalc.job_claim(job.pk, "slow:1:x")
    RecalcJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    recalc.job_claim(job.pk, "fast:2:y")

    with pytest.raises(recalc.JobTakenOver):
        recalc.chunk_run(job.pk, "slow:1:x")
    job.refresh_from_db()
    assert (job.worker_id, job.companies_done, job.items_done) == ("fast:2:y", 0, 0)


def test_stale_running_job_is_recovered_with_a_fresh_task(plan_world) -> None:
    p = plan_world
    job = _enqueue_plan_job(p)
    DBTaskResult.objects.filter(pk=job.task_id).update(status=TaskResultStatus.RUNNING)
    recalc.job_claim(job.pk, "dead:1:x")
    recalc.chunk_run(job.pk, "dead:1:x")
    RecalcJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    old_task = job.task_id

    assert recalculation_recover_stale() == [job.pk]

    job.refresh_from_db()
    assert job.task_id != old_task and (job.worker_id, job.status) == ("", Status.QUEUED)
    assert job.companies_done == 2  # progress kept
    assert recalculation_recover_stale() == []  # its new task is ready: left alone
    assert DBTaskResult.objects.get(pk=old_task).status == TaskResultStatus.FAILED
    assert DBTaskResult.objects.get(pk=job.task_id).status == TaskResultStatus.READY
    assert AuditEvent.objects.filter(action="job.recover", object_id=job.pk).exists()
    done = recalc.recalculation_run(job_id=job.pk)
    assert (done.status, done.companies_done, done.items_done) == (Status.SUCCEEDED, 5, 15)


def test_queued_job_whose_task_was_lost_is_recovered(plan_world) -> None:
    p = plan_world
    job = _enqueue_plan_job(p)
    DBTaskResult.objects.filter(pk=job.task_id).delete()

    assert recalculation_recover_stale() == [job.pk]
    assert recalculation_recover_stale() == []  # its new task is ready: nothing to do


def test_a_job_on_a_dead_local_process_is_stale_at_once(plan_world) -> None:
    import socket
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    p = plan_world
    job = _enqueue_plan_job(p)
    recalc.job_claim(job.pk, f"{socket.gethostname()[:40]}:{proc.pid}:x")
    job.refresh_from_db()

    assert recalc.job_is_stale(job)


def test_later_job_for_the_same_plan_supersedes_an_unstarted_one(plan_world) -> None:
    p = plan_world
    add_fee(p.plan_a.fee_schedule_id, "GBP", "ticket", 0, 1)
    first = _enqueue_plan_job(p)
    add_fee(p.plan_a.fee_schedule_id, "GBP", "ticket", 0, 2)
    second = _enqueue_plan_job(p)

    recalc.recalculation_run(job_id=first.pk)
    recalc.recalculation_run(job_id=second.pk)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.superseded_by_id, first.items_done) == (
        Status.SUCCEEDED,
        second.pk,
        0,
    )
    assert (second.status, second.items_done) == (Status.SUCCEEDED, 15)
    assert {f[0] for c in p.on_plan for f in _fees(c)} == {2}  # the last edit


def test_a_later_plan_job_missing_a_company_does_not_supersede_one_that_has_it(plan_world) -> None:
    # The company leaves plan fees between the two edits (its own fees a copy of the
    # first edit, so no job of its own): only the first job still reprices it.
    p = plan_world
    add_fee(p.plan_a.fee_schedule_id, "GBP", "ticket", 0, 1)
    first = _enqueue_plan_job(p)
    leaver = p.on_plan[-1]
    left = company_update(
        actor=p.admin_a,
        company_id=leaver.pk,
        changes={"use_plan_fees": False},
        fee_apply_mode="all",
    )
    assert left.job is None
    add_fee(p.plan_a.fee_schedule_id, "GBP", "ticket", 0, 2)
    second = _enqueue_plan_job(p)

    recalc.recalculation_run(job_id=first.pk)
    recalc.recalculation_run(job_id=second.pk)

    first.refresh_from_db()
    assert (first.superseded_by_id, first.items_done) == (None, 15)
    assert {f[0] for f in _fees(leaver)} == {1}  # its own copy of the first edit
    assert {f[0] for c in p.on_plan[:-1] for f in _fees(c)} == {2}


def test_running_job_followed_by_a_later_one_ends_on_the_last_edit(plan_world) -> None:
    p = plan_world
    add_fee(p.plan_a.fee_schedule_id, "GBP", "ticket", 0, 1)
    first = _enqueue_plan_job(p)
    recalc.job_claim(first.pk, "w1:1:x")
    recalc.chunk_run(first.pk, "w1:1:x")
    add_fee(p.plan_a.fee_schedule_id, "GBP", "ticket", 0, 2)
    second = _enqueue_plan_job(p)

    recalc.recalculation_run(job_id=second.pk)
    while recalc.chunk_run(first.pk, "w1:1:x"):
        pass

    first.refresh_from_db()
    assert (first.status, first.items_done, first.companies_done) == (Status.SUCCEEDED, 15, 5)
    assert {f[0] for c in p.on_plan for f in _fees(c)} == {2}


def test_item_without_a_schedule_entry_gets_zero_reseller_fee_on_recalculation(plan_world) -> None:
    # Creating such an item is refused; a later schedule edit can still remove the
    # entry, and the job then prices the reseller fee at 0, itemised (recalc/statement.py).
    p = plan_world
    add_fee(p.plan_a.fee_schedule_id, "GBP", "ticket", 250, 30, blended=True)
    p.plan_a.fee_schedule.entries.all().delete()
    recalc.recalculation_run(job_id=_enqueue_plan_job(p).pk)

    assert _fees(p.company_a) == [(0, 28, False, 2), (0, 48, False, 2), (0, 68, False, 2)]


def test_company_job_prices_like_the_python_rule_for_every_schedule_source(plan_world) -> None:
    p = plan_world
    custom = CompanyFactory(reseller=p.reseller_a, plan=None)
    add_fee(p.reseller_a.fee_schedule_id, "GBP", "ticket", 333, 1, min_minor=40, max_minor=90)
    for price in (0, 1, 1499, 1500, 99999):
        sale_item_create(actor=p.admin_a, company_id=custom.pk, data=ITEM | {"price_minor": price})
    companies = [p.company_a, p.own, custom]
    expected = {c.pk: _fees(c) for c in companies}
    SaleItem.objects.update(reseller_fee_minor=-1, gateway_fee_minor=-1, blended=True)

    with transaction.atomic():
        job = recalculation_enqueue(
            actor=SYSTEM,
            reseller_id=p.reseller_a.pk,
            company_ids=[c.pk for c in companies],
            reason="test",
        )
    recalc.recalculation_run(job_id=job.pk)

    for c in companies:
        assert [f[:3] for f in _fees(c)] == [f[:3] for f in expected[c.pk]]


def test_items_committed_after_the_job_started_are_repriced_and_counted_exactly(plan_world) -> None:
    # A create that read the old terms before the edit committed can commit after the
    # job started, with an id above the job's high-water mark: its chunk must still
    # reprice it (the fees below stand for the old terms it was priced from).
    p = plan_world
    add_fee(p.plan_a.fee_schedule_id, "GBP", "ticket", 0, 5)
    job = _enqueue_plan_job(p)
    recalc.job_claim(job.pk, "w:1:x")
    late = sale_item_create(actor=p.admin_a, company_id=p.on_plan[-1].pk, data=ITEM)
    SaleItem.objects.filter(pk=late.pk).update(reseller_fee_minor=80)

    while recalc.chunk_run(job.pk, "w:1:x"):
        pass

    job.refresh_from_db()
    late.refresh_from_db()
    assert (job.items_total, job.items_done) == (16, 16)
    assert (late.reseller_fee_minor, late.fee_revision) == (5, 2)


def test_job_reads_are_tenant_scoped(plan_world) -> None:
    p = plan_world
    job = _enqueue_plan_job(p)

    assert job_get_for_actor(p.viewer_a, job.pk) == job
    assert list(job_list_for_actor(p.admin_a, plan_id=p.plan_a.pk)) == [job]
    assert list(job_list_for_actor(p.admin_b)) == []
    for outsider in (p.admin_b, p.company_a_actor):
        with pytest.raises(NotFound):
            job_get_for_actor(outsider, job.pk)
    shape = job_serialize(job)
    assert {k: shape[k] for k in ("kind", "status", "companies_total", "items_done", "error")} == {
        "kind": "fee_recalculation",
        "status": "queued",
        "companies_total": 0,
        "items_done": 0,
        "error": None,
    }


def test_fee_columns_carry_no_index_and_pages_keep_free_space(db) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        constraints = connection.introspection.get_constraints(cur, "fees_saleitem")
        indexed = {col for c in constraints.values() if c["index"] for col in c["columns"]}
        assert not indexed & {
            "reseller_fee_minor",
            "gateway_fee_minor",
            "blended",
            "fee_revision",
            "fees_updated_at",
            "updated_at",
        }
        if connection.vendor == "postgresql":
            cur.execute("SELECT reloptions FROM pg_class WHERE relname = 'fees_saleitem'")
            assert "fillfactor=50" in cur.fetchone()[0]


def test_recalculation_rewrites_rows_as_hot_updates_on_postgresql(plan_world) -> None:
    from django.db import connection

    job = _enqueue_plan_job(plan_world)
    recalc.recalculation_run(job_id=job.pk)

    if connection.vendor == "postgresql":  # SQLite has no HOT: rows are rewritten in place
        with connection.cursor() as cur:
            cur.execute(
                "SELECT pg_stat_get_xact_tuples_updated('fees_saleitem'::regclass),"
                " pg_stat_get_xact_tuples_hot_updated('fees_saleitem'::regclass)"
            )
            updated, hot = cur.fetchone()
        assert updated >= 15 and hot == updated
    revisions = SaleItem.objects.filter(company__in=plan_world.on_plan).values_list(
        "fee_revision", flat=True
    )
    assert set(revisions) == {2}


def test_an_item_committed_in_flight_is_repriced_and_counted_exactly(plan_world) -> None:
    # An item whose id is below the job's high-water mark but which was not yet
    # visible when the job counted its scope (a create committing late).
    p = plan_world
    job = _enqueue_plan_job(p)
    recalc.job_claim(job.pk, "w:1:x")
    job.refresh_from_db()
    late = SaleItem.objects.filter(company=p.on_plan[-1]).order_by("id").first()
    RecalcJob.objects.filter(pk=job.pk).update(
        scope_item_counts={**(job.scope_item_counts or {}), str(p.on_plan[-1].pk): 2},
        items_total=job.items_total - 1,
    )
    # The count at start lives on the chunk that holds the company (its last one).
    chunk = RecalcChunk.objects.filter(job=job).order_by("seq").last()
    assert chunk is not None and p.on_plan[-1].pk in chunk.company_ids
    RecalcChunk.objects.filter(pk=chunk.pk).update(items_counted=chunk.items_counted - 1)

    while recalc.chunk_run(job.pk, "w:1:x"):
        pass

    job.refresh_from_db()
    late.refresh_from_db()
    assert (job.items_total, job.items_done, late.fee_revision) == (15, 15, 2)


def test_company_job_covers_only_its_resellers_existing_companies(plan_world) -> None:
    p = plan_world
    foreign = CompanyFactory(reseller=p.reseller_b)
    with transaction.atomic():
        job = recalculation_enqueue(
            actor=SYSTEM,
            reseller_id=p.reseller_a.pk,
            # More ids than SQLite takes in one batch, the reseller's last among them.
            company_ids=[foreign.pk, *range(900_000, 901_200), p.on_plan[-1].pk, p.company_a.pk],
            reason="test",
        )

    done = recalc.recalculation_run(job_id=job.pk)

    assert done is not None
    assert done.scope_company_ids == sorted([p.company_a.pk, p.on_plan[-1].pk])
    assert (done.companies_total, done.items_total, done.items_done) == (2, 6, 6)


@postgresql_only
def test_a_chunk_is_planned_for_its_own_companies_with_one_hash_join_on_postgresql(
    plan_world,
) -> None:
    """A chunk's transaction asks for custom plans and hash joins, and its
    statement joins the items to the fenced rates in one hash join: the plans the
    planner picked otherwise made chunks up to twice as slow (fees/recalc/statement.py)."""
    from django.db import connection
    from django.utils import timezone

    ids = [c.pk for c in plan_world.on_plan]
    names = [name for name, _ in recalc.CHUNK_PLANNER]

    def shown() -> dict[str, str]:
        with connection.cursor() as cur:
            values = {}
            for name in names:
                cur.execute(f"SHOW {name}")
                values[name] = cur.fetchone()[0]
            return values

    before = shown()
    with transaction.atomic():
        recalc.recalculate_items(ids)
        inside = shown()
        where, params = recalc.company_id_filter(ids)
        now = timezone.now()
        with connection.cursor() as cur:
            cur.execute("EXPLAIN " + recalc.recalculation_sql(where), [now, now, *params, *params])
            plan = [row[0] for row in cur.fetchall()]

    # set_config(..., true) lasts to the end of the transaction, which here is the test's.
    assert before != inside == dict(recalc.CHUNK_PLANNER)
    top_join = next(line for line in plan if "Join" in line or "Nested Loop" in line)
    assert "Hash Join" in top_join, plan
    assert any("Subquery Scan on r" in line for line in plan), plan
    assert not any("Merge Join" in line or "Sort" in line for line in plan), plan


def _reltuples(table: str) -> float:
    with connection.cursor() as cur:
        cur.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        return float(cur.fetchone()[0])


@postgresql_only
def test_tables_postgresql_never_counted_are_analyzed_once_in_the_given_order(db) -> None:
    """Never analyzed, a small catalog is guessed at hundreds of rows and every chunk
    hashed its rates on disk (fees/terms.py::rates_statistics_ensure). The given order
    is kept, so two jobs starting at once cannot deadlock on their ANALYZE locks."""
    with connection.cursor() as cur:
        for name in ("never_counted_b", "never_counted_a"):  # b gets the lower oid
            cur.execute(f"CREATE TEMP TABLE {name} (n integer)")
            cur.execute(f"INSERT INTO {name} SELECT generate_series(1, 12)")
    tables = ["never_counted_a", "never_counted_b"]
    assert [_reltuples(t) for t in tables] == [-1, -1]

    assert rates_statistics_ensure(tables) == tables
    assert [_reltuples(t) for t in tables] == [12, 12]
    with CaptureQueriesContext(connection) as queries:
        assert rates_statistics_ensure(tables) == []
    assert len(queries) == 1  # the look, and no ANALYZE


def test_a_job_makes_sure_of_the_rates_statistics_when_it_starts_only(
    plan_world, monkeypatch
) -> None:
    calls: list[None] = []
    monkeypatch.setattr(recalc.claim, "rates_statistics_ensure", lambda: calls.append(None))
    job = _enqueue_plan_job(plan_world)
    dead = "gone-host:1:x"
    recalc.job_claim(job.pk, dead)
    assert len(calls) == 1
    RecalcJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))

    assert recalc.recalculation_run(job_id=job.pk).status == Status.SUCCEEDED
    assert len(calls) == 1  # a resumed job's scope is frozen: no second look


# --- Chunks bounded by items, shared by several workers (issue #16) ---------------


def _add_items(company: Company, count: int, actor) -> None:
    for i in range(count):
        sale_item_create(actor=actor, company_id=company.pk, data=ITEM | {"price_minor": 500 + i})


def test_the_last_chunks_shrink_so_parallel_workers_finish_together() -> None:
    sizes, remaining = [], 1_000_000
    while remaining:
        size = min(remaining, recalc.chunk_item_cap(remaining, 100_000))
        sizes.append(size)
        remaining -= size
    # Full chunks while four or more remain, then a quarter of what is left, never less
    # than a quarter of a full chunk: 15 chunks instead of 10, the last ones small.
    assert sizes[:7] == [100_000] * 7
    assert sizes == sorted(sizes, reverse=True)
    assert all(size >= 25_000 for size in sizes[:-1]) and sizes[-1] <= 25_000
    assert len(sizes) == 15 and sum(sizes) == 1_000_000
    assert recalc.chunk_item_cap(10, 1) == 1 and recalc.chunk_item_cap(0, 8) == 2


def test_chunks_are_bounded_by_items_and_a_big_company_is_split_by_item_id(
    plan_world, settings
) -> None:
    p = plan_world
    settings.RECALC_CHUNK_ITEMS = 6
    big = p.on_plan[2]
    _add_items(big, 7, p.admin_a)  # 10 items: more than a chunk holds
    add_fee(p.plan_a.fee_schedule_id, "GBP", "ticket", 0, 9)
    job = _enqueue_plan_job(p)
    recalc.job_claim(job.pk, "w:1:x")

    chunks = list(RecalcChunk.objects.filter(job=job).order_by("seq"))
    small = sorted(c.pk for c in p.on_plan if c != big)
    big_ids = list(SaleItem.objects.filter(company=big).order_by("id").values_list("id", flat=True))
    layout = [
        (c.company_ids, c.item_id_from, c.item_id_to, c.items_counted, c.companies_completed)
        for c in chunks
    ]
    # Whole companies packed up to 6 items; the 10-item company in two pieces of 5, the
    # first and last open-ended; each company counted done by its last piece only. The
    # last 6 items are the tail: a chunk then holds at most ceil(6 / 4) = 2 items, so
    # each of the last two companies gets a chunk of its own.
    before = [c for c in small if c < big.pk]
    after = [c for c in small if c > big.pk]
    assert len(before) == 2 and len(after) == 2
    expected: list[tuple[list[int], int | None, int | None, int, int]] = [
        (before, None, None, 6, 2),
        ([big.pk], None, big_ids[5], 5, 0),
        ([big.pk], big_ids[5], None, 5, 1),
        ([after[0]], None, None, 3, 1),
        ([after[1]], None, None, 3, 1),
    ]
    assert layout == expected

    late = sale_item_create(actor=p.admin_a, company_id=big.pk, data=ITEM)  # after the start
    while recalc.chunk_run(job.pk, "w:1:x"):
        pass

    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED
    assert (job.companies_done, job.companies_total) == (5, 5)
    assert (job.items_done, job.items_total) == (23, 23)  # the late item counted once
    assert set(
        SaleItem.objects.filter(company__in=p.on_plan).values_list("reseller_fee_minor", flat=True)
    ) == {9}
    late.refresh_from_db()
    assert late.fee_revision == 2
    assert set(
        SaleItem.objects.filter(company__in=p.on_plan)
        .exclude(pk=late.pk)
        .values_list("fee_revision", flat=True)
    ) == {2}


def test_a_helper_shares_a_running_job_and_nothing_is_counted_twice(plan_world, settings) -> None:
    p = plan_world
    settings.RECALC_CHUNK_ITEMS = 3  # one company per chunk: five chunks
    add_fee(p.plan_a.fee_schedule_id, "GBP", "ticket", 0, 4)
    job = _enqueue_plan_job(p)
    recalc.job_claim(job.pk, "owner:1:x")
    assert recalc.chunk_run(job.pk, "owner:1:x")

    assert recalc.recalculation_help(worker_id="helper:2:y") == 4

    job.refresh_from_db()
    # The helper ran the last chunk, so it closed the job; the owner finds nothing left.
    assert job.status == Status.SUCCEEDED and job.worker_id == "owner:1:x"
    assert not recalc.chunk_run(job.pk, "owner:1:x")
    assert (job.companies_done, job.items_done, job.items_total) == (5, 15, 15)
    by = RecalcChunk.objects.filter(job=job).order_by("seq").values_list("worker_id", flat=True)
    assert list(by) == ["owner:1:x"] + ["helper:2:y"] * 4
    for company in p.on_plan:
        assert [(f[0], f[3]) for f in _fees(company)] == [(4, 2)] * 3


def test_a_helper_leaves_jobs_alone_unless_running_and_alive(plan_world) -> None:
    p = plan_world
    queued = _enqueue_plan_job(p)
    assert recalc.recalculation_help(worker_id="helper:2:y") == 0  # not started: no chunks

    recalc.job_claim(queued.pk, "gone:1:x")
    RecalcJob.objects.filter(pk=queued.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert recalc.recalculation_help(worker_id="helper:2:y") == 0  # stale: recovery's
    assert not RecalcChunk.objects.filter(job=queued, done=True).exists()

    RecalcJob.objects.filter(pk=queued.pk).update(heartbeat_at=timezone.now())
    assert recalc.recalculation_help(worker_id="helper:2:y") == 3  # alive: 3 chunks of 2, 2, 1
    queued.refresh_from_db()
    assert (queued.status, queued.items_done) == (Status.SUCCEEDED, 15)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_chunk_another_worker_holds_is_skipped_until_its_transaction_ends(
    catalog_seeded, plan_world
) -> None:
    job = _enqueue_plan_job(plan_world)
    recalc.job_claim(job.pk, "owner:1:x")  # three chunks: 2, 2 and 1 companies
    held, release = threading.Event(), threading.Event()
    claimed: list[int | None] = []

    def other_worker() -> None:
        try:
            with transaction.atomic():
                chunk = recalc.chunk_claim(job.pk)
                claimed.append(chunk.seq if chunk else None)
                held.set()
                release.wait(20)
        finally:
            connection.close()

    worker = threading.Thread(target=other_worker)
    worker.start()
    try:
        assert held.wait(20)
        with transaction.atomic():
            mine = recalc.chunk_claim(job.pk)
            assert mine is not None and mine.seq == 1  # seq 0 is held by the other worker
    finally:
        release.set()
        worker.join(20)

    assert claimed == [0]
    with transaction.atomic():  # both transactions ended: seq 0 is free again
        again = recalc.chunk_claim(job.pk)
        assert again is not None and again.seq == 0


def _chunk_layout(job: RecalcJob) -> list[list[int]]:
    return list(
        RecalcChunk.objects.filter(job=job).order_by("seq").values_list("company_ids", flat=True)
    )


def test_a_long_scope_starts_on_its_first_companies_and_plans_the_rest_meanwhile(
    plan_world, settings
) -> None:
    p = plan_world
    settings.RECALC_CHUNK_ITEMS = 3  # one company (3 items) per chunk
    settings.RECALC_PLAN_AHEAD_COMPANIES = 2
    add_fee(p.plan_a.fee_schedule_id, "GBP", "ticket", 0, 4)
    job = _enqueue_plan_job(p)
    ids = [c.pk for c in p.on_plan]

    recalc.job_claim(job.pk, "owner:1:x")
    job.refresh_from_db()
    # Two companies counted; the first one's chunk is full, the second's may grow.
    assert _chunk_layout(job) == [[ids[0]]]
    assert (job.chunks_planned, job.companies_total, job.items_total) == (False, 5, 6)

    assert recalc.recalculation_help(worker_id="helper:2:y") == 1
    job.refresh_from_db()
    assert job.status == Status.RUNNING  # every chunk done, but not every chunk planned

    recalc.chunks_plan_rest(job.pk, "helper:2:y")  # only the job's owner plans it
    assert not RecalcJob.objects.get(pk=job.pk).chunks_planned
    recalc.chunks_plan_rest(job.pk, "owner:1:x")
    job.refresh_from_db()
    assert _chunk_layout(job) == [[company] for company in ids]
    assert (job.chunks_planned, job.items_total) == (True, 15)

    assert recalc.recalculation_help(worker_id="helper:2:y") == 4
    job.refresh_from_db()
    assert (job.status, job.companies_done, job.items_done) == (Status.SUCCEEDED, 5, 15)
    for company in p.on_plan:
        assert [(f[0], f[3]) for f in _fees(company)] == [(4, 2)] * 3


def test_a_job_whose_owner_died_before_planning_the_rest_is_finished_by_the_next(
    plan_world, settings
) -> None:
    p = plan_world
    settings.RECALC_CHUNK_ITEMS = 3
    settings.RECALC_PLAN_AHEAD_COMPANIES = 2
    job = _enqueue_plan_job(p)
    recalc.job_claim(job.pk, "dead:1:x")
    assert recalc.chunk_run(job.pk, "dead:1:x")
    RecalcJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))

    assert recalculation_recover_stale() == [job.pk]
    done = recalc.recalculation_run(job_id=job.pk, worker_id="next:2:z")

    assert done is not None and done.chunks_planned
    assert (done.status, done.companies_done, done.items_done, done.items_total) == (
        Status.SUCCEEDED, 5, 15, 15
    )  # fmt: skip
    assert _chunk_layout(done) == [[c.pk] for c in p.on_plan]  # each company once


def test_a_short_scope_is_planned_whole_at_once(plan_world, settings) -> None:
    settings.RECALC_PLAN_AHEAD_COMPANIES = 5
    job = _enqueue_plan_job(plan_world)
    recalc.job_claim(job.pk, "owner:1:x")
    job.refresh_from_db()
    assert job.chunks_planned and job.items_total == 15
    assert sum(len(ids) for ids in _chunk_layout(job)) == 5


def test_a_process_running_its_own_job_does_not_help_or_even_look(
    plan_world, django_assert_num_queries
) -> None:
    job = _enqueue_plan_job(plan_world)
    recalc.job_claim(job.pk, "owner:1:x")
    recalc.run._owning.set()
    try:
        with django_assert_num_queries(0):
            assert recalc.recalculation_help(worker_id="owner:1:x") == 0
    finally:
        recalc.run._owning.clear()

    assert recalc.recalculation_help(worker_id="helper:2:y") == 3


def test_a_job_started_by_an_older_release_gets_chunks_after_its_cursor(plan_world) -> None:
    p = plan_world
    add_fee(p.plan_a.fee_schedule_id, "GBP", "ticket", 0, 6)
    job = _enqueue_plan_job(p)
    recalc.job_claim(job.pk, "old:1:x")
    ids = sorted(c.pk for c in p.on_plan)
    # As an older release left it: two companies done by its cursor, no chunk rows.
    RecalcChunk.objects.filter(job=job).delete()
    recalc.recalculate_items(ids[:2])
    RecalcJob.objects.filter(pk=job.pk).update(
        cursor_company_id=ids[1],
        companies_done=2,
        items_done=6,
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )

    done = recalc.recalculation_run(job_id=job.pk, worker_id="new:2:y")

    assert done is not None and done.status == Status.SUCCEEDED
    assert (done.companies_done, done.items_done, done.items_total) == (5, 15, 15)
    planned = RecalcChunk.objects.filter(job=job).values_list("company_ids", flat=True)
    assert sorted(c for chunk in planned for c in chunk) == ids[2:]
    for company in p.on_plan:
        assert [(f[0], f[3]) for f in _fees(company)] == [(6, 2)] * 3
