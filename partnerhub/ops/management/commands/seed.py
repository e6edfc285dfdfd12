"""`partnerhub seed`: synthetic resellers, plans, companies, sale items and sales for
benchmarks.

Each reseller gets one plan ("bench-plan") holding all its companies, and each
company `--items` sale items. Items are written by one INSERT … SELECT per
reseller (generate_series on PostgreSQL, a recursive CTE on SQLite) with their
fees computed in the same statement by the same SQL rule the recalculation
uses, so 10,000,000 items take minutes, not hours. A company's items are
inserted together, as a tenant's catalogue import would be. `--sales N` then adds N
sales spread over every stored sale item (sales/seed.py); `--resellers 0 --sales N` adds
sales only.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from partnerhub.audit.services import audit_record
from partnerhub.catalog.models import GatewayFee, Limit
from partnerhub.companies.models import Company
from partnerhub.core.actor import SYSTEM
from partnerhub.fees.models import FeeSchedule, FeeScheduleEntry
from partnerhub.fees.terms import (
    gateway_fee_of,
    rates_sql,
    rates_statistics_ensure,
    reseller_fee_of,
)
from partnerhub.plans.models import Plan, PlanPrice
from partnerhub.resellers.models import Reseller
from partnerhub.resellers.versions import versions_bump
from partnerhub.sales.seed import sales_seed
from partnerhub.usage.seed import usage_seed

CURRENCIES = ("GBP", "EUR", "JPY")  # exponents 2, 2, 0
FEE_TYPES = ("ticket", "product", "donation")
GATEWAY = {"GBP": (200, 8), "EUR": (190, 10), "JPY": (300, 0)}  # bps, fixed minor units
# (bps, fixed minor units, min, max, blended) per currency; the same for every fee type.
PLAN_FEES = {
    "GBP": (250, 30, None, None, False),
    "EUR": (300, 25, 50, 2_000, True),
    "JPY": (350, 0, 100, None, False),
}


def _series_sql(vendor: str, count: int) -> tuple[str, str]:
    """(WITH prefix, FROM item) producing the integers 1..count as g.n."""
    if vendor == "postgresql":
        return "", f"generate_series(1, {int(count)}) AS g(n)"
    return (
        f"WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {int(count)}) ",
        "g",
    )


_OF_RESELLER = "c.reseller_id = %s"


def items_insert_sql(vendor: str, count: int) -> str:
    """`count` items per company of a reseller. Parameters: timestamps x3, reseller id x2."""
    with_prefix, series = _series_sql(vendor, count)
    currency = " ".join(f"WHEN {i} THEN '{c}'" for i, c in enumerate(CURRENCIES))
    fee_type = " ".join(f"WHEN {i} THEN '{t}'" for i, t in enumerate(FEE_TYPES))
    return f"""
        {with_prefix}
        INSERT INTO fees_saleitem (company_id, external_ref, name, currency, fee_type,
            price_minor, reseller_fee_minor, gateway_fee_minor, blended, fee_revision,
            fees_updated_at, created_at, updated_at)
        SELECT s.company_id, 'bench-' || s.n, 'Item ' || s.n, s.currency, s.fee_type, s.price,
               {reseller_fee_of("s.price")}, {gateway_fee_of("s.price")}, r.blended, 1,
               %s, %s, %s
        FROM (
            SELECT c.id AS company_id, g.n AS n,
                   CASE g.n %% {len(CURRENCIES)} {currency} END AS currency,
                   CASE (g.n / {len(CURRENCIES)}) %% {len(FEE_TYPES)} {fee_type} END AS fee_type,
                   (g.n * 7919 + c.id * 104729) %% 500000 AS price
            FROM companies_company c CROSS JOIN {series}
            WHERE c.reseller_id = %s
        ) AS s
        JOIN ({rates_sql(_OF_RESELLER)}) AS r
            ON r.company_id = s.company_id AND r.currency = s.currency
            AND r.fee_type = s.fee_type
        ORDER BY s.company_id, s.n
    """


class Command(BaseCommand):
    help = "Create synthetic data: R resellers, each with one plan of C companies of I items."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--resellers", type=int, default=1)
        parser.add_argument("--companies", type=int, default=100, help="per reseller")
        parser.add_argument("--items", type=int, default=100, help="per company")
        parser.add_argument(
            "--usage-events",
            type=int,
            default=0,
            help="metered usage events per company, in its current usage period",
        )
        parser.add_argument(
            "--sales",
            type=int,
            default=0,
            help="sales in all, spread over every stored sale item and the last 90 days",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        resellers, companies, items = options["resellers"], options["companies"], options["items"]
        sales = options["sales"]
        if sales < 0:
            raise CommandError("--sales must be >= 0")
        # --resellers 0 seeds no reseller: with --sales, only sales over the stored items.
        if resellers < (0 if sales else 1) or companies < 1 or items < 0:
            raise CommandError("--resellers and --companies must be at least 1, --items >= 0")
        for currency, (bps, fixed) in GATEWAY.items():
            GatewayFee.objects.get_or_create(
                currency_id=currency, defaults={"percent_bps": bps, "fixed_minor": fixed}
            )
        start = Reseller.objects.filter(slug__startswith="bench-").count() + 1
        usage_events = options["usage_events"]
        if usage_events < 0:
            raise CommandError("--usage-events must be >= 0")
        for n in range(start, start + resellers):
            plan = self._seed_reseller(n, companies, items, usage_events)
            self.stdout.write(
                f"reseller bench-{n} (id {plan.reseller_id}): plan {plan.pk} "
                f"with {companies} companies x {items} items"
                + (f" x {usage_events} usage events" if usage_events else "")
            )
        if sales:
            self._seed_sales(sales)

    def _seed_sales(self, count: int) -> None:
        written = sales_seed(count=count)
        if not written:
            raise CommandError("--sales needs sale items: seed some with --items")
        with transaction.atomic():
            audit_record(
                actor=SYSTEM,
                action="seed.sales",
                object_type="sales",
                object_id=None,
                object_repr=f"{written} sale(s)",
                reseller_id=None,
                changes={"sales": {"old": None, "new": written}},
            )
        self.stdout.write(f"{written} sales over the stored sale items")

    @transaction.atomic
    def _seed_reseller(self, n: int, companies: int, items: int, usage_events: int) -> Plan:
        reseller = Reseller.objects.create(
            name=f"Bench Reseller {n}", slug=f"bench-{n}", fee_schedule=_schedule()
        )
        plan = Plan.objects.create(
            reseller=reseller,
            plan_type="usage_based",
            name="bench-plan",
            display_name="Bench",
            billing_cycles=["monthly"],
            # A valid plan (SPEC §4): a value for every catalog limit (null: unlimited) and
            # a price for its cycle, so the benchmarks can edit it like any other plan.
            limits={key: None for key in Limit.objects.values_list("key", flat=True)},
            fee_schedule=_schedule(PLAN_FEES),
        )
        PlanPrice.objects.create(
            plan=plan, currency_id="GBP", billing_cycle="monthly", amount_minor=1000
        )
        schedules = FeeSchedule.objects.bulk_create([FeeSchedule() for _ in range(companies)])
        today = timezone.now().date()
        created = Company.objects.bulk_create(
            [
                Company(
                    reseller=reseller,
                    name=f"Bench {n}-{i}",
                    plan=plan,
                    fee_schedule=s,
                    billing_anchor=today,
                )
                for i, s in enumerate(schedules, start=1)
            ],
            batch_size=1000,
        )
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        if items:
            with connection.cursor() as cur:
                # Fresh statistics, or the planner guesses one company per reseller
                # and joins millions of generated items to the rates quadratically.
                cur.execute("ANALYZE companies_company")
                rates_statistics_ensure()  # the catalogs may have none yet
                cur.execute(
                    items_insert_sql(connection.vendor, items),
                    [now, now, now, reseller.pk, reseller.pk],
                )
        events = usage_seed(company_ids=[c.pk for c in created], events_per_company=usage_events)
        audit_record(
            actor=SYSTEM,
            action="seed.create",
            object_type="reseller",
            object_id=reseller.pk,
            object_repr=reseller.name,
            reseller_id=reseller.pk,
            changes={
                "companies": {"old": None, "new": companies},
                "sale_items": {"old": None, "new": companies * items},
                "usage_events": {"old": None, "new": events},
            },
        )
        # The rows above bypass the services, so the cached lists' versions move here.
        versions_bump(reseller.pk)
        return plan


def _schedule(fees: dict[str, tuple[int, int, int | None, int | None, bool]] | None = None):  # type: ignore[no-untyped-def]
    schedule = FeeSchedule.objects.create()
    FeeScheduleEntry.objects.bulk_create(
        FeeScheduleEntry(
            schedule=schedule,
            currency_id=cur,
            fee_type_id=ft,
            percent_bps=bps,
            fixed_minor=fixed,
            min_minor=lo,
            max_minor=hi,
            blended=blended,
        )
        for cur, (bps, fixed, lo, hi, blended) in (fees or {}).items()
        for ft in FEE_TYPES
    )
    return schedule
