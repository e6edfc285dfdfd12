"""Benchmark: sales ingestion (SPEC §15) next to a raw multi-row INSERT of the same rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.sales
    ... --companies 1000 --items 10 --stored-sales 1000000 --batches 40 --rounds 3
    ... --db sqlite               # the embedded SQLite instead (default without DATABASE_URL)

Builds a scratch database `bench_sales_<db>`: `partnerhub seed` with 1,000 companies x
10 sale items and 1,000,000 sales already stored (written set-based in SQL), then
`VACUUM (ANALYZE)`. In one process, on one connection, interleaved over rounds (each
figure the median of the rounds), batches of 1,000 new sales spread over the items,
each batch committed on its own:

- api: `POST /api/v1/sales` through Django's test client with a reseller admin key (JSON
  parsing, the key check, the schema, the service, the response; no HTTP socket);
- service: `sales.services.sales_record_parsed` on the same kind of batch;
- raw: one multi-row `INSERT … VALUES` per batch of the very rows the service stores
  (same 14 columns and values), into a bare table of the same columns (no index, no
  constraint: the harshest baseline), and into a copy of `sales_sale` with its indexes
  and its 1,000,000 rows (`raw_indexed`: the cost of the table itself);
- raw_unnest and raw_copy (PostgreSQL): the same rows into the bare table as one
  INSERT … SELECT FROM unnest(one array per column) (the technique the service uses), and
  by COPY (the fastest bulk load there is): for scale, not what the target compares with.
  A 1,000-row VALUES list costs PostgreSQL a parse and plan of 14,000 parameters; arrays
  do not, which is why the service can beat the raw VALUES INSERT.

Target (issue 24): ingestion >= 0.5 x the raw INSERT, on PostgreSQL. The verdict takes
the api path over the bare raw INSERT. Results go to data/bench/sales-<db>.json;
docs/benchmarks.md holds the figures of record.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import time
from typing import Any

from bench.common import django_env, machine, manage, scratch_database_url, write_result

BATCH = 1000
TARGET = 0.5
_COLUMNS = (
    "reseller_id, sale_id, company_id, sale_item_id, currency, fee_type, quantity, "
    "price_minor, reseller_fee_minor, gateway_fee_minor, blended, timestamp, late_into, "
    "recorded_at"
)


def _prepare_tables() -> None:
    """The raw INSERTs' two tables: bare (same columns, nothing else), and a copy of
    `sales_sale` with its indexes and rows."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_raw_sales")
        cur.execute("DROP TABLE IF EXISTS bench_raw_sales_indexed")
        if connection.vendor == "postgresql":
            cur.execute(
                "CREATE TABLE bench_raw_sales (reseller_id bigint, sale_id varchar(200), "
                "company_id bigint, sale_item_id bigint, currency varchar(3), "
                "fee_type varchar(64), quantity bigint, price_minor bigint, "
                "reseller_fee_minor bigint, gateway_fee_minor bigint, blended boolean, "
                "timestamp timestamptz, late_into date, recorded_at timestamptz)"
            )
            cur.execute("CREATE TABLE bench_raw_sales_indexed (LIKE sales_sale INCLUDING ALL)")
            cur.execute(
                f"INSERT INTO bench_raw_sales_indexed ({_COLUMNS}) SELECT {_COLUMNS} "
                "FROM sales_sale"
            )
            cur.execute("VACUUM (ANALYZE)")
        else:
            cur.execute(f"CREATE TABLE bench_raw_sales ({_COLUMNS})")
            cur.execute(
                "SELECT sql FROM sqlite_master WHERE tbl_name = 'sales_sale' AND sql IS NOT NULL"
            )
            for (ddl,) in cur.fetchall():
                cur.execute(ddl.replace('"sales_sale"', '"bench_raw_sales_indexed"', 1)
                            .replace(" ON sales_sale", " ON bench_raw_sales_indexed")
                            .replace("INDEX \"sale_", "INDEX \"raw_sale_")
                            .replace("INDEX sale_", "INDEX raw_sale_"))  # fmt: skip
            cur.execute(
                f"INSERT INTO bench_raw_sales_indexed ({_COLUMNS}) SELECT {_COLUMNS} "
                "FROM sales_sale"
            )
            cur.execute("ANALYZE")


class Batches:
    """Batches of 1,000 new sales over the seeded items, each sale id made once, and each
    batch in the form its mode takes, built before the clock starts: the JSON body a
    client sends, the parsed sales the service takes, the rows the raw INSERT writes."""

    def __init__(self, items: dict[int, tuple[Any, ...]], seed: int = 24) -> None:
        self.items = items  # id -> (reseller, company, currency, fee type, price, fees…)
        self.ids = sorted(items)
        self.random = random.Random(seed)
        self.made = 0

    def sales(self, tag: str) -> list[dict[str, Any]]:
        now = dt.datetime.now(dt.UTC)
        batch = []
        for _ in range(BATCH):
            self.made += 1
            when = now - dt.timedelta(seconds=self.random.randrange(30 * 86_400))
            batch.append({
                "id": f"bench-{tag}-{self.made}",
                "sale_item_id": self.ids[self.random.randrange(len(self.ids))],
                "quantity": 1 + self.random.randrange(5),
                "timestamp": when.isoformat().replace("+00:00", "Z"),
            })  # fmt: skip
        return batch

    def parsed(self, batch: list[dict[str, Any]]) -> list[Any]:
        from partnerhub.sales.services import SaleInput

        return [
            SaleInput(i, s["id"], s["sale_item_id"], s["quantity"],
                      dt.datetime.fromisoformat(s["timestamp"]))
            for i, s in enumerate(batch)
        ]  # fmt: skip

    def rows(self, batch: list[dict[str, Any]]) -> list[Any]:
        """What the service stores for `batch` (the item's copy; no cutoff in this bench,
        so late_into is NULL), as the INSERT's parameters, adapted as Django adapts them."""
        from django.db import connection

        ops = connection.ops
        recorded = ops.adapt_datetimefield_value(dt.datetime.now(dt.UTC))
        rows = []
        for s in batch:
            reseller, company, currency, fee_type, price, fee, gateway, blended = self.items[
                s["sale_item_id"]
            ]
            when = ops.adapt_datetimefield_value(dt.datetime.fromisoformat(s["timestamp"]))
            rows += [reseller, s["id"], company, s["sale_item_id"], currency, fee_type,
                     s["quantity"], price, fee, gateway, blended, when, None, recorded]  # fmt: skip
        return rows


def _raw_sql(table: str) -> str:
    one = "(" + ", ".join(["%s"] * 14) + ")"
    return f"INSERT INTO {table} ({_COLUMNS}) VALUES {', '.join([one] * BATCH)}"


def _modes(batches: Batches, actor: Any, key: str) -> dict[str, tuple[Any, Any]]:
    """Each mode: (prepare a batch, record it). One call of record writes 1,000 new sales,
    committed on its own."""
    from django.db import connection
    from django.test import Client

    from partnerhub.sales.services import sales_record_parsed

    client = Client(headers={"Authorization": f"Bearer {key}"})

    def api(body: str) -> None:
        response = client.post("/api/v1/sales", body, content_type="application/json")
        assert response.status_code == 200, response.content
        assert response.json()["accepted"] == BATCH

    def service(sales: list[Any]) -> None:
        assert sales_record_parsed(actor=actor, sales=sales).accepted == BATCH

    def raw(table: str) -> Any:
        sql = _raw_sql(table)

        def insert(params: list[Any]) -> None:
            with connection.cursor() as cur:  # autocommit: each INSERT commits
                cur.execute(sql, params)

        return insert

    types = ("bigint", "varchar", "bigint", "bigint", "varchar", "varchar", "bigint", "bigint",
             "bigint", "bigint", "boolean", "timestamptz", "date", "timestamptz")  # fmt: skip
    unnest_sql = (
        f"INSERT INTO bench_raw_sales ({_COLUMNS}) SELECT * FROM unnest("
        + ", ".join(f"%s::{t}[]" for t in types)
        + ")"
    )

    def unnest(params: list[Any]) -> None:
        with connection.cursor() as cur:
            cur.execute(unnest_sql, [params[n::14] for n in range(14)])

    def copy(params: list[Any]) -> None:
        with (
            connection.cursor() as cur,
            cur.cursor.copy(f"COPY bench_raw_sales ({_COLUMNS}) FROM STDIN") as out,
        ):
            for n in range(0, len(params), 14):
                out.write_row(params[n : n + 14])

    modes = {
        "api": (lambda: json.dumps({"sales": batches.sales("api")}), api),
        "service": (lambda: batches.parsed(batches.sales("service")), service),
        "raw": (lambda: batches.rows(batches.sales("raw")), raw("bench_raw_sales")),
        "raw_indexed": (
            lambda: batches.rows(batches.sales("raw-indexed")),
            raw("bench_raw_sales_indexed"),
        ),
    }
    if connection.vendor == "postgresql":  # the faster bulk loads, for scale
        modes["raw_unnest"] = (lambda: batches.rows(batches.sales("raw-unnest")), unnest)
        modes["raw_copy"] = (lambda: batches.rows(batches.sales("raw-copy")), copy)
    return modes


def _rate(prepare: Any, record: Any, batches: int) -> float:
    """Sales per second of recording `batches` batches, prepared before the clock."""
    prepared = [prepare() for _ in range(batches)]
    started = time.perf_counter()
    for one in prepared:
        record(one)
    return BATCH * batches / (time.perf_counter() - started)


def _items() -> dict[int, tuple[Any, ...]]:
    from partnerhub.fees.models import SaleItem

    return {
        pk: tuple(rest)
        for pk, *rest in SaleItem.objects.values_list(
            "pk", "company__reseller_id", "company_id", "currency_id", "fee_type_id",
            "price_minor", "reseller_fee_minor", "gateway_fee_minor", "blended",
        )
    }  # fmt: skip


def _ratio(median: dict[str, float], mode: str, baseline: str) -> float | None:
    return round(median[mode] / median[baseline], 2) if baseline in median else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else "")
    default_db = "postgres" if os.environ.get("DATABASE_URL") else "sqlite"
    parser.add_argument("--db", choices=["sqlite", "postgres"], default=default_db)
    parser.add_argument("--companies", type=int, default=1000)
    parser.add_argument("--items", type=int, default=10, help="sale items per company")
    parser.add_argument("--stored-sales", type=int, default=1_000_000)
    parser.add_argument("--batches", type=int, default=40, help="batches per mode and round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    url = scratch_database_url(args.db, f"bench_sales_{args.db}")
    manage(url, "migrate", "-v0", "--skip-checks")
    seed_seconds = manage(
        url, "seed", "--resellers", "1", "--companies", str(args.companies),
        "--items", str(args.items), "--sales", str(args.stored_sales),
    )  # fmt: skip
    os.environ.update(django_env(url))
    import django

    django.setup()
    from django.db import connection

    from partnerhub.accounts.services import api_key_create
    from partnerhub.core.actor import Actor, Role, platform_actor
    from partnerhub.resellers.models import Reseller
    from partnerhub.sales.models import Sale

    reseller = Reseller.objects.get(slug="bench-1")
    actor = Actor(role=Role.RESELLER_ADMIN, reseller_id=reseller.pk, label="bench")
    key = api_key_create(actor=platform_actor("bench"), scope="reseller_admin",
                         reseller_id=reseller.pk)[1]  # fmt: skip
    _prepare_tables()
    batches = Batches(_items())
    modes = _modes(batches, actor, key)
    for prepare, record in modes.values():  # warm up: prepared statements, caches, imports
        record(prepare())
    rates: dict[str, list[float]] = {name: [] for name in modes}
    for round_no in range(1, args.rounds + 1):
        for name, (prepare, record) in modes.items():
            rates[name].append(round(_rate(prepare, record, args.batches), 1))
        print(f"round {round_no}:", json.dumps({n: r[-1] for n, r in rates.items()}))
    median = {name: round(statistics.median(r), 1) for name, r in rates.items()}
    recorded = args.stored_sales + (args.rounds * args.batches + 1) * BATCH * 2
    assert Sale.objects.count() == recorded, "the service lost or doubled sales"
    paired = {  # each round's ratio, the clock's drift within a run cancelled
        f"{name}_vs_raw": [round(a / b, 3) for a, b in zip(rates[name], rates["raw"], strict=True)]
        for name in rates
        if name != "raw"
    }
    result = {
        "db": args.db,
        "companies": args.companies,
        "items": args.companies * args.items,
        "sales_stored_before": args.stored_sales,
        "batch": BATCH,
        "batches_per_mode_and_round": args.batches,
        "rounds": args.rounds,
        "sales_per_s": median,
        "sales_per_s_per_round": rates,
        "ratios_per_round": paired,
        "verdict": {
            "api_vs_raw_insert": round(median["api"] / median["raw"], 2),
            "service_vs_raw_insert": round(median["service"] / median["raw"], 2),
            "api_vs_raw_indexed_insert": round(median["api"] / median["raw_indexed"], 2),
            "api_vs_raw_unnest_insert": _ratio(median, "api", "raw_unnest"),
            "service_vs_raw_unnest_insert": _ratio(median, "service", "raw_unnest"),
            "api_vs_copy": _ratio(median, "api", "raw_copy"),
            "median_round_api_vs_raw": round(statistics.median(paired["api_vs_raw"]), 3),
            "target": TARGET,
            "ok": median["api"] / median["raw"] >= TARGET,
        },
        "seed_seconds": round(seed_seconds, 1),
        "machine": machine(),
        "python": platform.python_version(),
        "server_version": getattr(connection, "pg_version", None),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }
    out = write_result(f"sales-{args.db}", result)
    print(json.dumps(result["verdict"], indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
