"""Company and reseller statements (SPEC §15): lines, totals, proration, closing, late
sales, immutability, numbering, and Python agreeing with SQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.core import serializers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from partnerhub.catalog.models import TaxSettings
from partnerhub.core.actor import SYSTEM
from partnerhub.plans.models import PlanPrice
from partnerhub.sales.models import SaleCutoff
from partnerhub.statements.models import Statement, StatementLine, StatementNumbering
from partnerhub.statements.reseller import closed_company_lines, reseller_statements_compute
from partnerhub.statements.selectors import (
    company_statements_for_actor,
    reseller_statements_for_actor,
    statement_csv,
)
from partnerhub.statements.services import (
    reseller_statements_close,
    statements_close_companies,
)
from partnerhub.statements.tests.helpers import (
    at,
    change_plan,
    company_on,
    item_of,
    plan_with_price,
    sell,
)
from partnerhub.testing.factories import ResellerFactory
from partnerhub.webhooks.models import Event

pytestmark = pytest.mark.django_db

NOV = date(2026, 11, 1)
DEC = date(2026, 12, 1)
IN_NOVEMBER = datetime(2026, 11, 20, 12, tzinfo=UTC)
AFTER_GRACE = datetime(2026, 12, 3, tzinfo=UTC)


def _draft(company, now=IN_NOVEMBER) -> Statement:
    statements = company_statements_for_actor(SYSTEM, company.pk, now=now)
    (current,) = [
        s
        for s in statements
        if s.status == "draft" and s.period_start <= now.date() and s.period_end > now.date()
    ]
    return current


def _lines(statement: Statement) -> list[tuple[str, int, int, int]]:
    return [
        (line.kind, line.net_minor, line.gst_minor, line.gross_minor)
        for line in statement.lines.all()
    ]


def _assert_adds_up(statement: Statement) -> None:
    lines = list(statement.lines.all())
    for name in (
        "net_minor",
        "gst_minor",
        "gross_minor",
        "reseller_share_minor",
        "platform_share_minor",
    ):
        assert getattr(statement, name) == sum(getattr(line, name) for line in lines), name
    assert statement.gateway_fees_minor == sum(line.gateway_fee_minor for line in lines)
    assert statement.gross_minor == (
        statement.platform_share_minor
        + statement.reseller_share_minor
        + statement.gst_minor
        + statement.gateway_fees_minor
    )


def test_subscription_line_carries_the_cycle_price_and_gst_half_up() -> None:
    TaxSettings.objects.update_or_create(pk=1, defaults={"gst_rate_bps": 1800})
    reseller = ResellerFactory()
    company = company_on(plan_with_price(reseller, monthly_minor=9_999, gst=True))
    statement = _draft(company)
    assert (statement.period_start, statement.period_end) == (NOV, DEC)
    assert _lines(statement) == [("subscription", 9_999, 1_800, 11_799)]  # 1799.82 -> 1800
    assert statement.currency == "GBP"
    _assert_adds_up(statement)


def test_fee_lines_per_fee_type_and_blended_kept_as_one_charge_with_its_split() -> None:
    reseller = ResellerFactory()
    company = company_on(plan_with_price(reseller, monthly_minor=0))
    plain = item_of(company, reseller_fee=100, gateway_fee=30)
    blended = item_of(company, reseller_fee=50, gateway_fee=20, blended=True, fee_type="product")
    sell(plain, 3, at(date(2026, 11, 5)))
    sell(plain, 2, at(date(2026, 11, 6)))
    sell(blended, 4, at(date(2026, 11, 7)))
    sell(plain, 9, at(date(2026, 10, 31)))  # October: not this period
    statement = _draft(company)
    by_kind = {line.kind: line for line in statement.lines.all()}
    assert by_kind["reseller_fees"].net_minor == 500
    assert by_kind["reseller_fees"].quantity == 5
    assert by_kind["gateway_fees"].net_minor == 150
    fees = by_kind["fees"]
    assert (fees.net_minor, fees.reseller_fee_minor, fees.gateway_fee_minor) == (280, 200, 80)
    assert statement.gateway_fees_minor == 150 + 80
    _assert_adds_up(statement)


def test_sales_in_another_currency_make_a_statement_of_their_own() -> None:
    reseller = ResellerFactory()
    company = company_on(plan_with_price(reseller, monthly_minor=1_000))
    sell(item_of(company, currency="USD"), 1, at(date(2026, 11, 3)))
    statements = company_statements_for_actor(SYSTEM, company.pk, now=IN_NOVEMBER)
    current = {s.currency: s for s in statements if s.period_start == NOV}
    assert set(current) == {"GBP", "USD"}
    assert [line.kind for line in current["USD"].lines.all()] == ["reseller_fees", "gateway_fees"]


def test_revenue_sharing_splits_the_shareable_part_and_reconciles() -> None:
    TaxSettings.objects.update_or_create(pk=1, defaults={"gst_rate_bps": 1800})
    reseller = ResellerFactory()
    plan = plan_with_price(reseller, monthly_minor=10_001, gst=True, revenue_share_bps=3_333)
    company = company_on(plan)
    sell(item_of(company, reseller_fee=77, gateway_fee=11, blended=True), 3, at(date(2026, 11, 9)))
    statement = _draft(company)
    sub, fees = statement.lines.all()
    assert sub.reseller_share_minor == 3_333  # 10001 x 0.3333 = 3333.33
    assert sub.platform_share_minor == 10_001 - 3_333
    assert fees.reseller_share_minor == 77  # 231 x 0.3333 = 76.99 -> 77
    assert fees.gateway_fee_minor == 33
    _assert_adds_up(statement)


def test_a_usage_based_plan_leaves_the_platform_no_share() -> None:
    reseller = ResellerFactory()
    company = company_on(plan_with_price(reseller, monthly_minor=5_000))
    statement = _draft(company)
    assert statement.reseller_share_minor == 5_000
    assert statement.platform_share_minor == 0


def test_a_plan_change_mid_period_credits_the_old_and_charges_the_new_by_day() -> None:
    reseller = ResellerFactory()
    cheap = plan_with_price(reseller, monthly_minor=3_000, name="cheap")
    dear = plan_with_price(reseller, monthly_minor=9_000, name="dear")
    company = company_on(cheap)
    change_plan(company, dear, date(2026, 11, 11))  # 20 of November's 30 days left
    statement = _draft(company)
    assert _lines(statement) == [
        ("subscription", 3_000, 0, 3_000),
        ("proration", -2_000, 0, -2_000),
        ("proration", 6_000, 0, 6_000),
    ]
    credit, charge = statement.lines.all()[1:]
    assert credit.quantity == charge.quantity == 20
    assert statement.net_minor == 1_000 + 6_000


def test_a_cycle_change_prorates_the_new_cycle_per_month() -> None:
    reseller = ResellerFactory()
    plan = plan_with_price(reseller, monthly_minor=3_000, yearly_minor=24_000)
    company = company_on(plan)
    change_plan(company, plan, date(2026, 11, 16), cycle="yearly")  # 15 of 30 days left
    statement = _draft(company)
    assert [line.net_minor for line in statement.lines.all()] == [3_000, -1_500, 1_000]
    # The next period runs on the new cycle to the anchor's next yearly boundary (1 Sept),
    # charged as that part of the year: 274 of 365 days.
    nxt = _draft(company, now=datetime(2027, 3, 1, tzinfo=UTC))
    assert (nxt.period_start, nxt.period_end) == (DEC, date(2027, 9, 1))
    assert _lines(nxt) == [("subscription", 18_016, 0, 18_016)]  # 24000 x 274 / 365


def test_a_custom_company_pays_no_subscription_but_its_fees() -> None:
    reseller = ResellerFactory()
    company = company_on(None, reseller=reseller)
    sell(item_of(company), 1, at(date(2026, 11, 2)))
    statement = _draft(company)
    assert [line.kind for line in statement.lines.all()] == ["reseller_fees", "gateway_fees"]
    assert statement.reseller_share_minor == 100


def test_draft_reads_write_nothing_when_nothing_changed() -> None:
    reseller = ResellerFactory()
    company = company_on(plan_with_price(reseller))
    first = _draft(company)
    again = _draft(company)
    assert again.pk == first.pk and again.computed_at == first.computed_at
    sell(item_of(company), 1, at(date(2026, 11, 2)))
    changed = _draft(company)
    assert changed.pk == first.pk and changed.gross_minor > first.gross_minor


def _close(company_ids: list[int], cutoff: datetime = AFTER_GRACE) -> int:
    return statements_close_companies(company_ids=company_ids, cutoff=cutoff, now=cutoff)


def test_closing_freezes_numbers_announces_and_is_idempotent() -> None:
    reseller = ResellerFactory()
    plan = plan_with_price(reseller, monthly_minor=2_000)
    first, second = company_on(plan), company_on(plan)
    assert _close([first.pk, second.pk]) == 6  # September, October, November each
    numbers = list(
        Statement.objects.filter(status="closed")
        .order_by("number")
        .values_list("number", flat=True)
    )
    assert numbers == [1, 2, 3, 4, 5, 6]
    assert StatementNumbering.objects.get(reseller=reseller).last_number == 6
    assert SaleCutoff.objects.get(company=first).closed_until == DEC
    assert Event.objects.filter(type="statement.closed").count() == 6
    event = Event.objects.filter(type="statement.closed").order_by("id").first()
    assert event is not None and event.data["currency"] == "GBP"
    assert _close([first.pk, second.pk]) == 0
    assert Statement.objects.filter(status="closed").count() == 6


def test_grace_keeps_a_period_open_until_it_passed(settings) -> None:
    settings.PARTNERHUB_STATEMENT_GRACE_HOURS = 48
    company = company_on(plan_with_price(ResellerFactory()), anchor=date(2026, 11, 1))
    assert _close([company.pk], cutoff=datetime(2026, 12, 2, 23, tzinfo=UTC)) == 0
    assert _close([company.pk], cutoff=datetime(2026, 12, 3, 0, tzinfo=UTC)) == 1


def test_a_closed_statement_never_changes() -> None:
    reseller = ResellerFactory()
    plan = plan_with_price(reseller, monthly_minor=2_000, gst=True)
    company = company_on(plan, anchor=date(2026, 11, 1))
    item = item_of(company)
    sell(item, 2, at(date(2026, 11, 3)))
    _close([company.pk])
    closed = Statement.objects.get(company=company, period_start=NOV)
    before = serializers.serialize("json", [closed, *closed.lines.all()])
    # Everything that could reach it: the plan's price and GST, the item's fees, new sales,
    # a plan change, reads of every kind.
    PlanPrice.objects.filter(plan=plan).update(amount_minor=99_999)
    plan.gst_enabled = False
    plan.save()
    item.reseller_fee_minor = 5_000
    item.save()
    sell(item, 7, at(date(2026, 11, 4)), late_into=DEC)
    change_plan(company, None, date(2026, 12, 5))
    company_statements_for_actor(SYSTEM, company.pk, now=datetime(2026, 12, 10, tzinfo=UTC))
    _close([company.pk])
    closed.refresh_from_db()
    after = serializers.serialize("json", [closed, *closed.lines.all()])
    assert after == before


def test_a_late_sale_lands_in_the_next_open_period_as_an_adjustment() -> None:
    company = company_on(plan_with_price(ResellerFactory(), monthly_minor=0), anchor=NOV)
    item = item_of(company, reseller_fee=100, gateway_fee=30)
    _close([company.pk])
    sell(item, 2, at(date(2026, 11, 29)), late_into=DEC)
    statement = _draft(company, now=datetime(2026, 12, 10, tzinfo=UTC))
    assert statement.period_start == DEC
    (adjustment,) = [line for line in statement.lines.all() if line.kind == "adjustment"]
    assert (adjustment.net_minor, adjustment.reseller_fee_minor, adjustment.gateway_fee_minor) == (
        260,
        200,
        60,
    )
    _assert_adds_up(statement)


def test_reseller_statement_sums_its_companies_and_python_agrees_with_sql() -> None:
    TaxSettings.objects.update_or_create(pk=1, defaults={"gst_rate_bps": 1800})
    reseller = ResellerFactory()
    sharing = plan_with_price(reseller, monthly_minor=7_777, gst=True, revenue_share_bps=2_500)
    plain = plan_with_price(reseller, monthly_minor=1_234)
    companies = [company_on(sharing, anchor=NOV), company_on(plain, anchor=NOV)]
    mid = company_on(plain, anchor=date(2026, 10, 15))  # its period ending in November
    for company in [*companies, mid]:
        sell(item_of(company, blended=True), 3, at(date(2026, 11, 10)))
    (draft,) = reseller_statements_for_actor(SYSTEM, reseller.pk, NOV, now=IN_NOVEMBER)
    assert draft.status == "draft" and draft.kind == "reseller"
    # mid's Oct 15 - Nov 15 period ends in November; the Nov 10 sale is in it.
    assert {line.company_id for line in draft.lines.all()} == {c.pk for c in [*companies, mid]}
    _assert_adds_up(draft)
    _close([c.pk for c in [*companies, mid]])
    assert reseller_statements_close(reseller_ids=[reseller.pk], month=NOV, now=AFTER_GRACE) == 1
    closed = Statement.objects.get(kind="reseller", reseller=reseller, period_start=NOV)
    assert closed.status == "closed" and closed.number is not None
    _assert_adds_up(closed)
    # The same sums computed in Python from the company statements and in SQL from rows.
    sql = closed_company_lines(reseller.pk, NOV)["GBP"]
    (python,) = reseller_statements_compute(reseller.pk, NOV)
    assert [(line.company_id, line.kind, line.gross_minor) for line in python.lines] == [
        (company_id, group, sums["gross_minor"]) for company_id, group, sums in sql
    ]
    assert python.totals()["gross_minor"] == closed.gross_minor
    assert reseller_statements_close(reseller_ids=[reseller.pk], month=NOV, now=AFTER_GRACE) == 0


def test_csv_has_a_row_per_line_in_major_units() -> None:
    company = company_on(plan_with_price(ResellerFactory(), monthly_minor=12_345))
    statement = _draft(company)
    rows = statement_csv(statement).splitlines()
    assert rows[0].startswith("statement_id,statement_number,status")
    assert len(rows) == 1 + statement.lines.count()
    assert ",123.45," in rows[1]


class StatementProperties(HypothesisTestCase):
    """Random plans, changes and sales: totals are sums of lines, every statement
    reconciles, and the stored rows (SQL) agree with the computation (Python)."""

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        price=st.integers(min_value=0, max_value=10**8),
        other=st.integers(min_value=0, max_value=10**8),
        gst=st.booleans(),
        share=st.one_of(st.none(), st.integers(min_value=0, max_value=10_000)),
        change_day=st.one_of(st.none(), st.integers(min_value=2, max_value=30)),
        sales=st.lists(
            st.tuples(
                st.integers(min_value=1, max_value=10**4),  # quantity
                st.integers(min_value=0, max_value=10**5),  # reseller fee
                st.integers(min_value=0, max_value=10**5),  # gateway fee
                st.booleans(),  # blended
                st.integers(min_value=1, max_value=30),  # day of November
            ),
            max_size=6,
        ),
    )
    def test_statements_reconcile(self, price, other, gst, share, change_day, sales) -> None:
        TaxSettings.objects.update_or_create(pk=1, defaults={"gst_rate_bps": 1800})
        reseller = ResellerFactory()
        plan = plan_with_price(reseller, monthly_minor=price, gst=gst, revenue_share_bps=share)
        company = company_on(plan, anchor=NOV)
        if change_day is not None:
            change_plan(
                company, plan_with_price(reseller, monthly_minor=other), date(2026, 11, change_day)
            )
        for quantity, rf, gf, blended, day in sales:
            item = item_of(company, reseller_fee=rf, gateway_fee=gf, blended=blended)
            sell(item, quantity, at(date(2026, 11, day)))
        statement = _draft(company)
        _assert_adds_up(statement)
        sql = StatementLine.objects.filter(statement=statement).values_list(
            "gross_minor", flat=True
        )
        assert sum(sql) == statement.gross_minor
        _close([company.pk])
        (reseller_statement,) = reseller_statements_compute(reseller.pk, NOV)
        closed = Statement.objects.get(company=company, period_start=NOV)
        assert reseller_statement.totals()["gross_minor"] == closed.gross_minor
        assert reseller_statement.totals()["reseller_share_minor"] == closed.reseller_share_minor
