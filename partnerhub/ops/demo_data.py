"""Demo data for `partnerhub demo`: two resellers, their plans, a few hundred companies.

Everything is written through the services (with their validation and audit
rows), so the demo shows the product as a user would have built it: plans
that were archived, disabled and deleted after companies were put on them,
companies that deviate from their plan, a recalculation job for the worker, and a
year of sales with every ended period's statements closed, as the worker would have.
It runs in one transaction, which keeps SQLite fast (seconds, not minutes).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from partnerhub.accounts.services import api_key_create, user_create
from partnerhub.catalog.models import Feature
from partnerhub.catalog.services import feature_create, gateway_fees_set
from partnerhub.companies.models import Company, SubscriptionChange
from partnerhub.companies.services import company_create, company_update
from partnerhub.core.actor import Actor, Role
from partnerhub.fees.models import FeeScheduleEntry
from partnerhub.fees.services import sale_item_create
from partnerhub.plans.models import Plan
from partnerhub.plans.services import (
    plan_archive,
    plan_create,
    plan_delete,
    plan_set_enabled,
    plan_update,
)
from partnerhub.resellers.models import Reseller
from partnerhub.resellers.services import reseller_create, reseller_update
from partnerhub.sales.seed import sales_seed
from partnerhub.statements.compute import day_start
from partnerhub.statements.services import (
    grace,
    reseller_statements_close,
    statements_close_companies,
)

DEMO_PASSWORD = "partnerhub-demo"
DEMO_ACTOR = Actor(role=Role.SYSTEM, label="cli:demo")

FEATURES = [
    ("seating", "Seating", "Reserved seating with seat maps."),
    ("vouchers", "Vouchers", "Discount and gift vouchers."),
    ("api_access", "API access", "Access to the public REST API."),
    ("custom_domain", "Custom domain", "Serve the box office from the company's own domain."),
    ("analytics", "Analytics", "Sales dashboards and exports."),
    ("whatsapp", "WhatsApp", "Send tickets and reminders over WhatsApp."),
]
GATEWAY_FEES = [
    {"currency": "INR", "percent_bps": 200, "fixed_minor": 300},  # 2 % + ₹3.00
    {"currency": "GBP", "percent_bps": 140, "fixed_minor": 20},  # 1.4 % + 20p
    {"currency": "USD", "percent_bps": 290, "fixed_minor": 30},  # 2.9 % + 30¢
]
USERS = [
    ("operator", "platform", None),
    ("northwind-admin", "reseller_admin", "northwind"),
    ("northwind-viewer", "reseller_viewer", "northwind"),
    ("southwind-admin", "reseller_admin", "southwind"),
]
FEE_TYPES = ("ticket", "product", "donation")


def _fees(currency: str, percent_bps: int, fixed_minor: int, **extra: Any) -> list[dict[str, Any]]:
    """One entry per fee type; donations carry half the percentage and no fixed part."""
    entries = []
    for fee_type in FEE_TYPES:
        entry = {
            "currency": currency,
            "fee_type": fee_type,
            "percent_bps": percent_bps // 2 if fee_type == "donation" else percent_bps,
            "fixed_minor": 0 if fee_type == "donation" else fixed_minor,
        }
        entries.append({**entry, **extra})
    return entries


def _prices(cycles: list[str], inr_monthly: int, gbp_monthly: int) -> list[dict[str, Any]]:
    months = {"monthly": 1, "quarterly": 3, "yearly": 10}  # a yearly plan: two months free
    return [
        {"currency": currency, "billing_cycle": cycle, "amount_minor": monthly * months[cycle]}
        for currency, monthly in (("INR", inr_monthly), ("GBP", gbp_monthly))
        for cycle in cycles
    ]


def _limits(
    messages: int | None, whatsapp: int | None, team: int | None, slots: int | None
) -> dict[str, int | None]:
    return {
        "messages": messages,
        "whatsapp_conversations": whatsapp,
        "team_members": team,
        "event_timeslots": slots,
    }


# Each spec: the plan_create data, its weight among the reseller's companies, and what
# happens to it after companies were put on it ("then").
NORTHWIND_PLANS: list[dict[str, Any]] = [
    {
        "data": {
            "plan_type": "usage_based",
            "name": "starter",
            "display_name": "Starter",
            "description": "For small venues getting started.",
            "billing_cycles": ["monthly", "yearly"],
            "prices": _prices(["monthly", "yearly"], 99_900, 1_200),
            "gst_enabled": True,
            "limits": _limits(2_000, 200, 3, 10),
            "features": ["seating"],
            "fees": _fees("INR", 300, 500) + _fees("GBP", 250, 30),
        },
        "weight": 30,
    },
    {
        "data": {
            "plan_type": "usage_based",
            "name": "growth",
            "display_name": "Growth",
            "description": "Seating, vouchers and analytics for growing promoters.",
            "billing_cycles": ["monthly", "quarterly", "yearly"],
            "prices": _prices(["monthly", "quarterly", "yearly"], 249_900, 2_900),
            "gst_enabled": True,
            "limits": _limits(10_000, 1_000, 8, 25),
            "features": ["seating", "vouchers", "analytics"],
            "fees": _fees("INR", 250, 400, min_minor=1_000) + _fees("GBP", 200, 25, max_minor=500),
            "blended": {"GBP": True},
        },
        "weight": 25,
    },
    {
        "data": {
            "plan_type": "revenue_sharing",
            "name": "enterprise",
            "display_name": "Enterprise",
            "description": "Everything, unlimited; Northwind takes a share of revenue.",
            "billing_cycles": ["yearly"],
            "prices": _prices(["yearly"], 0, 0),
            "gst_enabled": True,
            "revenue_share_bps": 1_500,
            "limits": _limits(None, None, None, None),
            "features": ["seating", "vouchers", "analytics", "api_access", "whatsapp"],
            "fees": _fees("INR", 150, 200) + _fees("GBP", 120, 20),
        },
        "weight": 10,
    },
    {
        "data": {
            "plan_type": "revenue_sharing",
            "name": "festival-share",
            "display_name": "Festival Partner",
            "description": "No subscription: a 20 % revenue share for seasonal festivals.",
            "billing_cycles": ["monthly"],
            # Every plan prices every cycle it offers (SPEC §4); this one at zero.
            "prices": _prices(["monthly"], 0, 0),
            "gst_enabled": False,
            "revenue_share_bps": 2_000,
            "limits": _limits(5_000, 500, 5, None),
            "features": ["seating", "whatsapp"],
            "fees": _fees("INR", 350, 0),
        },
        "weight": 8,
    },
    {
        "data": {
            "plan_type": "usage_based",
            "name": "legacy-2024",
            "display_name": "Classic (2024)",
            "billing_cycles": ["yearly"],
            "prices": _prices(["yearly"], 79_900, 900),
            "gst_enabled": True,
            "limits": _limits(1_000, 0, 2, 5),
            "features": ["seating"],
            "fees": _fees("INR", 400, 500) + _fees("GBP", 300, 30),
        },
        "weight": 10,
        "then": "archive",
    },
    {
        "data": {
            "plan_type": "usage_based",
            "name": "pilot",
            "display_name": "Pilot",
            "billing_cycles": ["monthly"],
            "prices": _prices(["monthly"], 0, 0),
            "limits": _limits(500, 50, 2, 5),
            "features": ["seating", "analytics"],
            "fees": _fees("INR", 300, 0),
        },
        "weight": 4,
        "then": "disable",
    },
    {
        "data": {
            "plan_type": "usage_based",
            "name": "basic-2023",
            "display_name": "Basic (2023)",
            "billing_cycles": ["monthly"],
            "prices": _prices(["monthly"], 49_900, 600),
            "limits": _limits(1_000, 100, 2, 5),
            "features": ["seating", "vouchers"],
            "fees": _fees("INR", 350, 500) + _fees("GBP", 275, 30),
        },
        "weight": 5,
        "then": "delete",
    },
]
SOUTHWIND_PLANS: list[dict[str, Any]] = [
    {
        "data": {
            "plan_type": "usage_based",
            "name": "essentials",
            "display_name": "Essentials",
            "billing_cycles": ["monthly", "yearly"],
            "prices": _prices(["monthly", "yearly"], 89_900, 1_000),
            "gst_enabled": True,
            "limits": _limits(3_000, 300, 3, 10),
            "features": ["seating"],
            "fees": _fees("GBP", 240, 25) + _fees("INR", 280, 400),
        },
        "weight": 40,
    },
    {
        "data": {
            "plan_type": "usage_based",
            "name": "professional",
            "display_name": "Professional",
            "billing_cycles": ["monthly", "quarterly", "yearly"],
            "prices": _prices(["monthly", "quarterly", "yearly"], 199_900, 2_400),
            "gst_enabled": True,
            "limits": _limits(20_000, 2_000, 10, None),
            "features": ["seating", "vouchers", "custom_domain"],
            "fees": _fees("GBP", 190, 20, min_minor=25, max_minor=800),
        },
        "weight": 30,
    },
    {
        "data": {
            "plan_type": "revenue_sharing",
            "name": "arts-council",
            "display_name": "Arts Council Partner",
            "billing_cycles": ["yearly"],
            "prices": _prices(["yearly"], 0, 0),
            "revenue_share_bps": 1_000,
            "limits": _limits(10_000, 1_000, 6, 20),
            "features": ["seating", "vouchers"],
            "fees": _fees("GBP", 150, 10),
            "blended": {"GBP": True},
        },
        "weight": 10,
    },
    {
        "data": {
            "plan_type": "usage_based",
            "name": "spring-2025",
            "display_name": "Spring Offer 2025",
            "billing_cycles": ["monthly"],
            "prices": _prices(["monthly"], 59_900, 700),
            "limits": _limits(1_500, 100, 2, 5),
            "features": ["seating"],
            "fees": _fees("GBP", 260, 30),
        },
        "weight": 8,
        "then": "archive",
    },
]

WORDS_A = [
    "Acme", "Blue", "Bright", "Cedar", "Coral", "Crimson", "Golden", "Harbour", "Indigo",
    "Juniper", "Lantern", "Maple", "Meadow", "Midnight", "Northern", "Oak", "Orchid", "Riverside",
    "Saffron", "Silver", "Summit", "Sunset", "Velvet", "Willow",
]  # fmt: skip
WORDS_B = [
    "Arts", "Comedy", "Concerts", "Events", "Festival", "Live", "Music", "Opera", "Productions",
    "Promotions", "Shows", "Stage", "Theatre", "Tours", "Venues",
]  # fmt: skip
WORDS_C = ["", "", " Ltd", " Co", " Collective", " Society", " Club", " Pvt Ltd"]


@dataclass
class DemoSummary:
    users: list[tuple[str, str, str]] = field(default_factory=list)  # username, role, password
    api_key: str = ""
    resellers: int = 0
    plans: int = 0
    companies: int = 0
    sale_items: int = 0
    sales: int = 0
    statements: int = 0  # closed
    job_id: int | None = None


def _company_names(rng: random.Random, count: int) -> list[str]:
    names: set[str] = set()
    while len(names) < count:
        names.add(f"{rng.choice(WORDS_A)} {rng.choice(WORDS_B)}{rng.choice(WORDS_C)}")
    return sorted(names)


def _catalog() -> None:
    existing = set(Feature.objects.values_list("key", flat=True))
    for key, name, description in FEATURES:
        if key not in existing:
            feature_create(actor=DEMO_ACTOR, key=key, name=name, description=description)
    gateway_fees_set(actor=DEMO_ACTOR, entries=GATEWAY_FEES)


def _resellers() -> tuple[Reseller, Reseller]:
    northwind = reseller_create(
        actor=DEMO_ACTOR,
        name="Northwind Tickets",
        slug="northwind",
        features=["plans", "seating", "vouchers", "api_access", "analytics", "whatsapp"],
        fees=_fees("INR", 400, 600) + _fees("GBP", 300, 35),
    )
    southwind = reseller_create(
        actor=DEMO_ACTOR,
        name="Southwind Events",
        slug="southwind",
        features=["plans", "seating", "vouchers", "custom_domain"],
        fees=_fees("GBP", 280, 30) + _fees("USD", 300, 30),
    )
    return northwind, southwind


def _plans(reseller: Reseller, specs: list[dict[str, Any]]) -> list[tuple[Plan, dict[str, Any]]]:
    plans = []
    for spec in specs:
        plan = plan_create(actor=DEMO_ACTOR, reseller_id=reseller.pk, data=spec["data"])
        plans.append((plan, spec))
    return plans


def _companies(
    rng: random.Random,
    reseller: Reseller,
    plans: list[tuple[Plan, dict[str, Any]]],
    count: int,
    custom_share: int,
) -> list[Company]:
    """Spread `count` companies over the plans by weight; `custom_share` weight goes Custom."""
    choices: list[Plan | None] = [p for p, _ in plans] + [None]
    weights = [spec["weight"] for _, spec in plans] + [custom_share]
    companies = []
    for name in _company_names(rng, count):
        plan = rng.choices(choices, weights)[0]
        email = name.lower().replace(" ", ".").replace("..", ".") + "@example.com"
        companies.append(
            company_create(
                actor=DEMO_ACTOR,
                reseller_id=reseller.pk,
                name=name,
                contact_email=email,
                plan_id=plan.pk if plan else None,
            )
        )
    return companies


def _deviations(rng: random.Random, reseller: Reseller, companies: list[Company]) -> None:
    """Some companies get limit overrides, exclusions, direct features or their own fees."""
    allowed = reseller.feature_keys() - {"plans"}
    for company in rng.sample(companies, len(companies) // 6):
        changes: dict[str, Any] = {"limit_overrides": {"team_members": rng.choice([5, 12, 20])}}
        plan_features = {f.key for f in company.plan.features.all()} if company.plan else set()
        extra = sorted(allowed - plan_features)
        if extra:
            changes["direct_features"] = [rng.choice(extra)]
        if plan_features and rng.random() < 0.5:
            changes["excluded_features"] = [rng.choice(sorted(plan_features))]
        if company.plan is not None and rng.random() < 0.25:
            changes["use_plan_fees"] = False
        company_update(actor=DEMO_ACTOR, company_id=company.pk, changes=changes)


ITEM_NAMES = {
    "ticket": ["Adult GA", "Child", "Concession", "VIP", "Early bird", "Balcony", "Stalls"],
    "product": ["Programme", "T-shirt", "Poster", "Tote bag"],
    "donation": ["Donation", "Friends of the theatre"],
}
PRICES = {"INR": [25_000, 49_900, 99_900, 150_000], "GBP": [500, 1_250, 2_000, 4_500]}


def _sale_items(rng: random.Random, companies: list[Company], currency: str) -> int:
    count = 0
    for company in companies:
        for n in range(rng.randint(2, 6)):
            fee_type = rng.choice(["ticket", "ticket", "ticket", "product", "donation"])
            sale_item_create(
                actor=DEMO_ACTOR,
                company_id=company.pk,
                data={
                    "external_ref": f"demo-{company.pk}-{n}",
                    "name": rng.choice(ITEM_NAMES[fee_type]),
                    "currency": currency,
                    "fee_type": fee_type,
                    "price_minor": rng.choice(PRICES[currency]),
                },
            )
            count += 1
    return count


def _lifecycle(plans: list[tuple[Plan, dict[str, Any]]]) -> None:
    """Retire plans the way an operator would: after companies were put on them."""
    for plan, spec in plans:
        then = spec.get("then")
        if then == "archive":
            plan_archive(actor=DEMO_ACTOR, plan_id=plan.pk)
        elif then == "disable":
            plan_set_enabled(actor=DEMO_ACTOR, plan_id=plan.pk, enabled=False)
        elif then == "delete":
            plan_delete(actor=DEMO_ACTOR, plan_id=plan.pk)


def _users(summary: DemoSummary) -> None:
    resellers = {r.slug: r.pk for r in Reseller.objects.all()}
    for username, role, slug in USERS:
        user_create(
            actor=DEMO_ACTOR,
            username=username,
            password=DEMO_PASSWORD,
            role=role,
            reseller_id=resellers[slug] if slug else None,
            email=f"{username}@example.com",
        )
        summary.users.append((username, role, DEMO_PASSWORD))


def demo_data_load(
    *, northwind_companies: int = 300, southwind_companies: int = 100
) -> DemoSummary:
    """Load the demo into an empty database (refuses one that already has resellers)."""
    if Reseller.objects.exists():
        raise RuntimeError("The database already holds resellers; demo data needs a fresh one.")
    rng = random.Random(2026)  # the same demo every time
    summary = DemoSummary()
    with transaction.atomic():
        _catalog()
        northwind, southwind = _resellers()
        nw_plans = _plans(northwind, NORTHWIND_PLANS)
        sw_plans = _plans(southwind, SOUTHWIND_PLANS)
        nw_companies = _companies(rng, northwind, nw_plans, northwind_companies, custom_share=8)
        sw_companies = _companies(rng, southwind, sw_plans, southwind_companies, custom_share=12)
        _deviations(rng, northwind, nw_companies)
        _deviations(rng, southwind, sw_companies)
        # Items only on companies whose effective schedule prices the currency.
        nw_sellers = [c for c in nw_companies[: northwind_companies // 5] if _sells(c, "INR")]
        sw_sellers = [c for c in sw_companies[: southwind_companies // 3] if _sells(c, "GBP")]
        summary.sale_items = _sale_items(rng, nw_sellers, "INR") + _sale_items(
            rng, sw_sellers, "GBP"
        )
        _lifecycle(nw_plans)
        _lifecycle(sw_plans)
        starter = nw_plans[0][0]
        reseller_update(
            actor=DEMO_ACTOR,
            reseller_id=northwind.pk,
            changes={"default_registration_plan_id": starter.pk},
        )
        reseller_update(
            actor=DEMO_ACTOR,
            reseller_id=southwind.pk,
            changes={"default_registration_plan_id": sw_plans[0][0].pk},
        )
        summary.job_id = _fee_change_with_job(starter)
        summary.sales, summary.statements = _money_history()
        _users(summary)
        _, summary.api_key = api_key_create(
            actor=DEMO_ACTOR,
            scope="reseller_admin",
            reseller_id=northwind.pk,
            name="demo: northwind admin",
        )
    summary.resellers = 2
    summary.plans = len(nw_plans) + len(sw_plans)
    summary.companies = len(nw_companies) + len(sw_companies)
    return summary


HISTORY_DAYS = 395  # 13 months: a full 12-month chart of closed reseller statements
DEMO_SALES = 12_000


def _money_history() -> tuple[int, int]:
    """Move every company (and its subscription history) back 13 months, sell its items
    over the year since, and close every period that ended as the worker does: the
    Statements page opens on a year of closed months. Answers (sales, statements)."""
    now = timezone.now()
    back = timedelta(days=HISTORY_DAYS)
    Company.objects.update(
        created_at=F("created_at") - back, billing_anchor=F("billing_anchor") - back
    )
    SubscriptionChange.objects.update(effective_at=F("effective_at") - back)
    sales = sales_seed(count=DEMO_SALES, now=now, days=HISTORY_DAYS - 30)
    ids = list(Company.objects.order_by("pk").values_list("pk", flat=True))
    closed = statements_close_companies(company_ids=ids, cutoff=now, now=now)
    resellers = list(Reseller.objects.order_by("pk").values_list("pk", flat=True))
    month = (now - back).date().replace(day=1)
    while True:
        following = (month + timedelta(days=32)).replace(day=1)
        if day_start(following) + grace() > now:
            break
        closed += reseller_statements_close(reseller_ids=resellers, month=month, now=now)
        month = following
    return sales, closed


def _sells(company: Company, currency: str) -> bool:
    company.refresh_from_db()
    schedule_id = company.effective_fee_schedule_id()
    return FeeScheduleEntry.objects.filter(schedule_id=schedule_id, currency_id=currency).exists()


def _fee_change_with_job(plan: Plan) -> int | None:
    """A plan fee edit applied to all items: the demo's worker picks the job up at start."""
    plan.refresh_from_db()
    result = plan_update(
        actor=DEMO_ACTOR,
        plan_id=plan.pk,
        changes={"fees": _fees("INR", 275, 500) + _fees("GBP", 250, 30)},
        version=plan.version,
        fee_apply_mode="all",
    )
    return result.job.pk if result.job else None
