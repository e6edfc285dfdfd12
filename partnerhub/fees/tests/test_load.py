"""A short, bounded mixed load over loopback HTTP; then every item equals a fresh quote.

The production server (`partnerhub serve`: granian plus its job worker) runs on a
database of the test's own (fees/tests/conftest.py::scratch_db: a file SQLite database, and a
scratch PostgreSQL database too when the suite runs on PostgreSQL). A few client
threads mix plan fee edits, fee-source toggles and resets, and item price edits, all
applied to "all" items, while the worker runs the jobs they queue. Loop counts are
fixed, so the run takes seconds. Once the queue is empty, every item is checked
against `POST /fees/quote` (docs/architecture.md, "Stored fees never go stale").
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from partnerhub.testing.processes import Db, free_port, seeded_env, wait_for

COMPANIES, ITEMS = 6, 12  # per company; the seed prices 3 currencies x 3 fee types
CLIENTS, ROUNDS = 3, 14  # client threads x operations each: bounded, a few seconds
ALLOWED = {200, 409}  # 409: another client saved the plan first (stale version)

SETUP = """
import json
from partnerhub.accounts.services import api_key_create
from partnerhub.core.actor import platform_actor
from partnerhub.plans.models import Plan
from partnerhub.resellers.services import reseller_update
plan = Plan.objects.get(name="bench-plan")
operator = platform_actor("load test")
reseller_update(actor=operator, reseller_id=plan.reseller_id, changes={"features": ["plans"]})
key = api_key_create(actor=operator, scope="reseller_admin", reseller_id=plan.reseller_id)[1]
print(json.dumps({
    "key": key,
    "plan": plan.pk,
    "companies": list(plan.companies.order_by("pk").values_list("pk", flat=True)),
}))
"""


class Http:
    def __init__(self, base: str, key: str) -> None:
        self.base, self.key = base, key

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base}/api/v1{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")


def _edit_plan(http: Http, plan_id: int, rng: random.Random, *, change: bool = False) -> int:
    """A GBP fee edit (with `change`, always a different one) applied to all items."""
    status, plan = http.call("GET", f"/plans/{plan_id}")
    assert status == 200, plan
    fees = [
        {**f, "percent_bps": f["percent_bps"] + 1 if change else rng.choice([100, 250, 400])}
        if f["currency"] == "GBP"
        else f
        for f in plan["fees"]
    ]
    blended = {**plan["blended"], "JPY": rng.random() < 0.3}
    body = {"version": plan["version"], "fees": fees, "blended": blended, "fee_apply_mode": "all"}
    return int(http.call("PATCH", f"/plans/{plan_id}", body)[0])


def _leave(http: Http, company: int) -> int:
    body = {"use_plan_fees": False, "fee_apply_mode": "all"}
    return int(http.call("PATCH", f"/companies/{company}", body)[0])


def _client(http: Http, world: dict[str, Any], item_ids: list[int], seed: int) -> Counter[Any]:
    rng, seen = random.Random(seed), Counter[Any]()
    for _ in range(ROUNDS):
        op = rng.choice(["plan", "plan then leave", "leave", "reset", "item", "item"])
        company = rng.choice(world["companies"])
        if op == "plan":
            status = _edit_plan(http, world["plan"], rng)
        elif op == "plan then leave":
            # One admin edits the plan, another takes a company off plan fees at once:
            # the company's own fees are then a copy of the new plan fees (issue 11).
            seen[("plan before leave", _edit_plan(http, world["plan"], rng))] += 1
            status = _leave(http, company)
        elif op == "leave":
            status = _leave(http, company)
        elif op == "reset":
            reset = {"fee_apply_mode": "all"}
            status = http.call("POST", f"/companies/{company}/reset-plan-fees", reset)[0]
        else:
            item = rng.choice(item_ids)
            price = {"price_minor": rng.randrange(0, 400_000)}
            status = http.call("PATCH", f"/sale-items/{item}", price)[0]
        seen[(op, status)] += 1
    # Last, each client plays the pattern on a company of its own: back on plan
    # fees, a plan edit applied to all, and the company off plan fees right after.
    company = world["companies"][seed % len(world["companies"])]
    reset = {"fee_apply_mode": "all"}
    seen[("final reset", http.call("POST", f"/companies/{company}/reset-plan-fees", reset)[0])] += 1
    seen[("final plan", _edit_plan(http, world["plan"], rng, change=True))] += 1
    seen[("final leave", _leave(http, company))] += 1
    return seen


@pytest.mark.slow
def test_mixed_load_over_loopback_leaves_every_item_equal_to_a_fresh_quote(
    scratch_db: str, tmp_path: Path
) -> None:
    db = Db(scratch_db)
    env = seeded_env(
        scratch_db, tmp_path, companies=COMPANIES, items=ITEMS, RECALC_CHUNK_COMPANIES="2"
    )
    setup = subprocess.run(
        [sys.executable, "-m", "django", "shell", "-c", SETUP],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert setup.returncode == 0, setup.stderr.decode()
    world = json.loads(setup.stdout.decode().strip().splitlines()[-1])
    item_ids = [row[0] for row in db.rows("SELECT id FROM fees_saleitem ORDER BY id")]

    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "django", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own group: granian and the worker stop with it
    )
    try:
        http = Http(f"http://127.0.0.1:{port}", world["key"])

        def up() -> bool:
            try:
                return http.call("GET", f"/plans/{world['plan']}")[0] == 200
            except OSError:
                return False

        wait_for(up, 60, "the server")
        results: list[Counter[Any]] = []
        errors: list[BaseException] = []

        def run(seed: int) -> None:
            try:
                results.append(_client(http, world, item_ids, seed))
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(seed,)) for seed in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors
        seen = sum(results, Counter[Any]())
        assert {status for _op, status in seen} <= ALLOWED, seen
        extra = ("plan before leave", "final reset", "final plan", "final leave")
        counted = [n for (op, _s), n in seen.items() if op not in extra]
        assert sum(counted) == CLIENTS * ROUNDS
        assert any("plan" in op and status == 200 for op, status in seen), seen

        wait_for(
            lambda: (
                not db.rows("SELECT id FROM fees_recalcjob WHERE status IN ('queued', 'running')")
            ),
            90,
            "the worker to drain the queue",
        )
        assert not db.rows("SELECT id FROM fees_recalcjob WHERE status = 'failed'")

        wrong = []
        items = db.rows(
            "SELECT id, company_id, currency, fee_type, price_minor, reseller_fee_minor,"
            " gateway_fee_minor, blended FROM fees_saleitem ORDER BY id"
        )
        assert len(items) == COMPANIES * ITEMS
        for item_id, company, currency, fee_type, price, fee, gateway, blended in items:
            status, quote = http.call(
                "POST",
                "/fees/quote",
                {
                    "company_id": company,
                    "currency": currency,
                    "fee_type": fee_type,
                    "price_minor": price,
                },
            )
            assert status == 200, quote
            fresh = (quote["reseller_fee_minor"], quote["gateway_fee_minor"], quote["blended"])
            if (fee, gateway, bool(blended)) != fresh:
                wrong.append((item_id, company, (fee, gateway, bool(blended)), fresh))
        assert wrong == []
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
