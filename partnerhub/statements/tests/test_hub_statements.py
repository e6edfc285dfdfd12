"""The hub's statement pages (SPEC §15): a reseller's month, the company panel, a
statement's detail and CSV, for every persona. Statements are written as rows here (what
the close job leaves), so the pages are tested on known numbers."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from partnerhub.core.money import format_money
from partnerhub.statements.models import Statement, StatementLine
from partnerhub.statements.views import month_shift, month_start
from partnerhub.testing.queries import assert_query_count

pytestmark = pytest.mark.django_db

NOV = date(2026, 11, 1)
DEC = date(2026, 12, 1)


def line(
    kind: str, net: int, *, gst: int = 0, gateway: int = 0, share_bps: int = 2000, **kw: Any
) -> dict[str, Any]:
    """A line whose parts add up as the contract's money rules say."""
    shareable = net - gateway
    reseller = (shareable * share_bps + 5000) // 10000
    return {
        "kind": kind,
        "description": kw.pop("description", kind.replace("_", " ").capitalize()),
        "net_minor": net,
        "gst_minor": gst,
        "gross_minor": net + gst,
        "gateway_fee_minor": gateway,
        "reseller_share_minor": reseller,
        "platform_share_minor": shareable - reseller,
        **kw,
    }


def statement_row(
    *,
    reseller: Any,
    company: Any = None,
    start: date = NOV,
    end: date = DEC,
    currency: str = "INR",
    status: str = "closed",
    number: int | None = None,
    lines: list[dict[str, Any]] | None = None,
) -> Statement:
    """A statement with its lines and totals (the sums of the lines), as stored."""
    lines = [line("subscription", 100000, gst=18000)] if lines is None else lines
    total = {
        f: sum(x[f] for x in lines)
        for f in (
            "net_minor",
            "gst_minor",
            "gross_minor",
            "reseller_share_minor",
            "platform_share_minor",
        )
    }
    now = timezone.now()
    statement = Statement.objects.create(
        kind="company" if company is not None else "reseller",
        status=status,
        reseller=reseller,
        company=company,
        currency=currency,
        period_start=start,
        period_end=end,
        number=number if status == "closed" else None,
        gateway_fees_minor=sum(x["gateway_fee_minor"] for x in lines),
        computed_at=now,
        closed_at=now if status == "closed" else None,
        **total,
    )
    StatementLine.objects.bulk_create(
        StatementLine(statement=statement, seq=i, **x) for i, x in enumerate(lines, 1)
    )
    return statement


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def books(personas: Any) -> dict[str, Statement]:
    """Reseller A: November closed (company and reseller statements), a December draft."""
    p = personas
    fee = line("fees", 5000, gateway=1200, reseller_fee_minor=3800, fee_type="ticket", quantity=40)
    return {
        "company": statement_row(
            reseller=p.reseller_a,
            company=p.company_a,
            number=7,
            lines=[line("subscription", 100000, gst=18000), fee],
        ),
        "reseller": statement_row(
            reseller=p.reseller_a,
            number=8,
            lines=[
                line("subscription", 100000, gst=18000, company=p.company_a),
                {**fee, "company": p.company_a},
            ],
        ),
        "october": statement_row(
            reseller=p.reseller_a,
            start=date(2026, 10, 1),
            end=NOV,
            number=5,
            lines=[line("subscription", 40000, gst=7200, company=p.company_a)],
        ),
        "draft": statement_row(
            reseller=p.reseller_a,
            company=p.company_a,
            start=DEC,
            end=date(2027, 1, 1),
            status="draft",
            lines=[line("subscription", 100000, gst=18000)],
        ),
    }


def test_month_start_reads_yyyy_mm_and_falls_back_to_last_month() -> None:
    today = date(2026, 12, 7)
    assert month_start("2026-02", today) == (date(2026, 2, 1), "")
    assert month_start("", today) == (NOV, "")
    assert month_start("", date(2027, 1, 1)) == (DEC, "")
    for bad in ("2026-13", "26-1", "2026-1", "november", "2026-11-01"):
        month, error = month_start(bad, today)
        assert month == NOV and "YYYY-MM" in error, bad
    assert month_shift(date(2026, 1, 1), -1) == date(2025, 12, 1)
    assert month_shift(date(2026, 12, 1), 1) == date(2027, 1, 1)
    assert month_shift(date(2026, 11, 1), -11) == date(2025, 12, 1)


def test_reseller_admin_sees_its_month_totals_and_reconciliation(personas: Any, books: Any) -> None:
    url = reverse("statements:reseller", args=[personas.reseller_a.pk])
    page = client_for(personas.admin_a_user).get(url + "?month=2026-11").content.decode()
    assert "November 2026 · INR" in page
    assert "Closed · No. 8" in page
    # 1,000.00 + 18 % GST + a 50.00 fee = 1,230.00 gross; 20 % of the shareable net to A.
    assert "INR 1,230.00" in page
    reseller = books["reseller"]
    assert reseller.gross_minor == 123000
    assert (
        reseller.platform_share_minor
        + reseller.reseller_share_minor
        + reseller.gst_minor
        + reseller.gateway_fees_minor
    ) == reseller.gross_minor
    assert 'data-testid="reconciles">Reconciles' in page
    assert reverse("statements:detail", args=[reseller.pk]) in page
    assert reverse("statements:csv", args=[reseller.pk]) in page
    assert 'value="2026-11"' in page


def test_the_chart_covers_twelve_months_up_to_the_chosen_one(personas: Any, books: Any) -> None:
    url = reverse("statements:reseller", args=[personas.reseller_a.pk])
    response = client_for(personas.admin_a_user).get(url + "?month=2026-11")
    ((currency, groups, table),) = response.context["charts"]
    assert currency == "INR"
    assert (groups[0][0], groups[-1][0]) == ("Dec '25", "Nov '26")
    assert groups[-1][1][0] == (123000, "INR 1,230.00")
    assert groups[-2][1][0] == (47200, "INR 472.00")
    assert groups[0][1][0] == (0, "INR 0.00")
    assert table[0][0] == NOV  # the table reads newest first
    page = response.content.decode()
    assert 'role="img"' in page and "Nov &#x27;26: Gross billed INR 1,230.00" in page


def test_a_month_without_statements_says_so(personas: Any, books: Any) -> None:
    url = reverse("statements:reseller", args=[personas.reseller_b.pk])
    page = client_for(personas.admin_b_user).get(url + "?month=2026-11").content.decode()
    assert "No statements yet" in page
    assert "No revenue in the 12 months up to November 2026 yet." in page


def test_the_month_picker_round_trips(personas: Any, books: Any) -> None:
    client = client_for(personas.admin_a_user)
    url = reverse("statements:reseller", args=[personas.reseller_a.pk])
    first = client.get(url, {"month": "2026-10"})
    assert first.context["month"] == date(2026, 10, 1)
    page = first.content.decode()
    assert 'name="month" value="2026-10"' in page
    assert "?month=2026-09" in page and "?month=2026-11" in page  # previous and next
    # Submitting the picker as it is shows the same month again.
    again = client.get(url, {"month": first.context["month"].strftime("%Y-%m")})
    assert again.context["month"] == date(2026, 10, 1)
    assert [s.statement.pk for s in again.context["statements"]] == [books["october"].pk]
    # Next from October is November; HTMX gets the month's fragment only.
    fragment = client.get(url, {"month": "2026-11"}, HTTP_HX_REQUEST="true")
    assert [s.statement.pk for s in fragment.context["statements"]] == [books["reseller"].pk]
    assert b"<html" not in fragment.content
    assert b'id="statement-month"' in fragment.content
    bad = client.get(url, {"month": "2026-13"})
    assert bad.status_code == 200
    assert "YYYY-MM" in bad.content.decode()
    assert bad.context["month"] == month_shift(timezone.localdate().replace(day=1), -1)


def test_the_operator_sees_every_resellers_statements_and_picks_one(
    personas: Any, books: Any
) -> None:
    client = client_for(personas.platform_user)
    chooser = client.get(reverse("statements:home")).content.decode()
    assert "Northwind Tickets" in chooser and "Southwind Events" in chooser
    picked = client.get(
        reverse("statements:home"), {"reseller": personas.reseller_a.pk, "month": "2026-11"}
    )
    target = reverse("statements:reseller", args=[personas.reseller_a.pk]) + "?month=2026-11"
    assert picked.status_code == 302 and picked["Location"] == target
    page = client.get(target).content.decode()
    assert "INR 1,230.00" in page
    assert 'id="statements-reseller"' in page  # the reseller picker
    assert client.get(reverse("statements:detail", args=[books["company"].pk])).status_code == 200
    assert (
        client.get(reverse("statements:company_list", args=[personas.company_a.pk])).status_code
        == 200
    )
    assert client.get(reverse("statements:home"), {"reseller": 2_000_000_000}).status_code == 404


def test_a_reseller_member_is_sent_to_its_own_statements(personas: Any) -> None:
    response = client_for(personas.viewer_a_user).get(
        reverse("statements:home"), {"reseller": personas.reseller_b.pk, "month": "2026-11"}
    )
    own = reverse("statements:reseller", args=[personas.reseller_a.pk])
    assert response.status_code == 302 and response["Location"] == own + "?month=2026-11"


def test_the_navigation_links_to_statements(personas: Any) -> None:
    own = reverse("statements:reseller", args=[personas.reseller_a.pk])
    page = client_for(personas.admin_a_user).get(own).content.decode()
    assert f'<a href="{own}" aria-current="page">Statements</a>' in page
    operator = client_for(personas.platform_user).get(reverse("web:home")).content.decode()
    assert f'<a href="{reverse("statements:home")}">Statements</a>' in operator


def test_outsider_gets_404_on_every_statement_page(personas: Any, books: Any) -> None:
    client = client_for(personas.admin_b_user)
    for url in (
        reverse("statements:reseller", args=[personas.reseller_a.pk]),
        reverse("statements:company_list", args=[personas.company_a.pk]),
        reverse("statements:detail", args=[books["company"].pk]),
        reverse("statements:detail", args=[books["reseller"].pk]),
        reverse("statements:csv", args=[books["company"].pk]),
        reverse("companies:edit", args=[personas.company_a.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"Page not found" in response.content


def test_the_company_page_loads_its_statement_panel(personas: Any, books: Any) -> None:
    client = client_for(personas.viewer_a_user)
    company = client.get(reverse("companies:edit", args=[personas.company_a.pk])).content.decode()
    panel_url = reverse("statements:company_list", args=[personas.company_a.pk])
    assert f'hx-get="{panel_url}" hx-trigger="load"' in company
    panel = client.get(panel_url, HTTP_HX_REQUEST="true")
    assert [d.statement.pk for d in panel.context["drafts"]] == [books["draft"].pk]
    assert [c.statement.pk for c in panel.context["closed"]] == [books["company"].pk]
    text = panel.content.decode()
    assert "<html" not in text
    assert "Current period" in text and "Draft" in text and "No. 7" in text
    assert reverse("statements:detail", args=[books["company"].pk]) in text
    assert reverse("statements:csv", args=[books["company"].pk]) in text


def test_the_company_panel_lists_five_closed_and_links_to_the_rest(personas: Any) -> None:
    for n in range(7):
        start = month_shift(date(2026, 1, 1), n)
        statement_row(
            reseller=personas.reseller_a,
            company=personas.company_a,
            start=start,
            end=month_shift(start, 1),
            number=n + 1,
        )
    client = client_for(personas.admin_a_user)
    url = reverse("statements:company_list", args=[personas.company_a.pk])
    panel = client.get(url, HTTP_HX_REQUEST="true")
    closed = [c.statement.number for c in panel.context["closed"]]
    assert closed == [7, 6, 5, 4, 3]
    assert panel.context["more_closed"]
    full = client.get(url)
    assert [c.statement.number for c in full.context["page"]] == [7, 6, 5, 4, 3, 2, 1]
    assert b"Statements of Acme Events" in full.content


def test_a_company_without_statements_says_so(personas: Any) -> None:
    url = reverse("statements:company_list", args=[personas.company_a.pk])
    panel = client_for(personas.admin_a_user).get(url, HTTP_HX_REQUEST="true")
    if not panel.context["drafts"]:  # the engine may show the open period's draft
        assert b"No statements yet" in panel.content


def test_statement_detail_shows_every_line_and_the_totals(personas: Any, books: Any) -> None:
    statement = books["company"]
    page = client_for(personas.viewer_a_user).get(reverse("statements:detail", args=[statement.pk]))
    text = page.content.decode()
    assert "Acme Events · Statement No. 7" in text
    assert "1 Nov 2026 \u2013 30 Nov 2026" in text  # period_end is exclusive
    assert text.count('data-line-kind="') == 2
    assert 'data-line-kind="fees"' in text and "Reseller fee 38.00 · gateway fee 12.00" in text
    assert 'data-testid="lines-total"' in text
    assert "Closed" in text and "never changes" in text
    reseller = (
        client_for(personas.admin_a_user)
        .get(reverse("statements:detail", args=[books["reseller"].pk]))
        .content.decode()
    )
    assert "<th>Company</th>" in reseller and "<td>Acme Events</td>" in reseller
    draft = (
        client_for(personas.admin_a_user)
        .get(reverse("statements:detail", args=[books["draft"].pk]))
        .content.decode()
    )
    assert "Draft: the period is still open" in draft


def test_statement_csv_downloads_as_an_attachment(personas: Any, books: Any) -> None:
    from partnerhub.statements.selectors import statement_csv, statement_get_for_actor

    statement = books["company"]
    response = client_for(personas.viewer_a_user).get(
        reverse("statements:csv", args=[statement.pk])
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        response["Content-Disposition"] == 'attachment; filename="statement-7-2026-11-01-INR.csv"'
    )
    expected = statement_csv(statement_get_for_actor(personas.platform, statement.pk))
    assert response.content.decode() == expected
    assert len(expected.strip().splitlines()) == 1 + 2  # a header and a row per line
    draft = client_for(personas.viewer_a_user).get(
        reverse("statements:csv", args=[books["draft"].pk])
    )
    assert (
        f'filename="statement-draft-{books["draft"].pk}-2026-12-01-INR.csv"'
        in draft["Content-Disposition"]
    )


def test_statement_pages_are_read_only(personas: Any, books: Any) -> None:
    client = client_for(personas.admin_a_user)
    for url in (
        reverse("statements:reseller", args=[personas.reseller_a.pk]),
        reverse("statements:detail", args=[books["company"].pk]),
        reverse("statements:csv", args=[books["company"].pk]),
    ):
        assert client.post(url).status_code == 405, url
    assert Statement.objects.get(pk=books["company"].pk).gross_minor == 123000


# Every month of the chart closed: the page reads stored statements only (an open month
# is computed from its companies' statements, by the selector).
STATEMENTS_PAGE_QUERIES = {"admin_a_user": 12, "platform_user": 12}


@pytest.mark.parametrize("who", ["admin_a_user", "platform_user"])
def test_statements_page_costs_the_same_queries_with_more_currencies_and_lines(
    personas: Any, who: str
) -> None:
    client = client_for(getattr(personas, who))
    url = reverse("statements:reseller", args=[personas.reseller_a.pk]) + "?month=2026-11"
    months = [month_shift(NOV, -back) for back in range(12)]
    for start in months:
        statement_row(reseller=personas.reseller_a, start=start, end=month_shift(start, 1))
    client.get(url)  # the session and content types
    with assert_query_count(STATEMENTS_PAGE_QUERIES[who]):
        assert client.get(url).status_code == 200
    more = [line("subscription", 700, company=personas.company_a) for _ in range(3)]
    for start in months:
        for currency in ("GBP", "JPY"):
            statement_row(
                reseller=personas.reseller_a,
                start=start,
                end=month_shift(start, 1),
                currency=currency,
                lines=more,
            )
    with assert_query_count(STATEMENTS_PAGE_QUERIES[who]):
        response = client.get(url)
    assert len(response.context["statements"]) == 3
    assert len(response.context["charts"]) == 3


def test_column_chart_draws_columns_against_round_gridlines() -> None:
    from partnerhub.web.charts import COLUMN_PLOT_HEIGHT, column_chart

    chart = column_chart(
        [("Oct", [(4000, "4"), (-100, "-1")]), ("Nov", [(10000, "10"), (2500, "2.5")])],
        ["Gross", "Share"],
    )
    assert [g.value for g in chart.gridlines] == [0, 5000, 10000]  # 10000 is already round
    gross_oct, credit = chart.groups[0].columns
    gross_nov, share_nov = chart.groups[1].columns
    assert gross_nov.height == COLUMN_PLOT_HEIGHT
    assert gross_oct.height == COLUMN_PLOT_HEIGHT * 4 // 10
    assert share_nov.height == COLUMN_PLOT_HEIGHT // 4
    assert credit.height == 0 and credit.title == "Oct · Share: -1"  # a credit: no column
    assert all(c.y + c.height == chart.baseline_y for g in chart.groups for c in g.columns)
    assert (gross_nov.css, share_nov.css) == ("bar", "bar-2")
    assert chart.groups[0].label_x < chart.groups[1].label_x
    assert chart.title == "Oct: Gross 4, Share -1; Nov: Gross 10, Share 2.5"
    assert [g.value for g in column_chart([("Nov", [(7300, "")])], ["Gross"]).gridlines] == [
        0,
        5000,
        10000,
    ]
    assert [g.value for g in column_chart([("Nov", [(0, "")])], ["Gross"]).gridlines] == [0, 1, 2]


@pytest.fixture
def engine_books(personas: Any) -> dict[str, Any]:
    """Real statements: a GST, revenue-sharing company of A three months old with sales in
    two months, its ended periods closed by the engine and A's month two back closed."""
    from partnerhub.statements.services import (
        reseller_statements_close,
        statements_close_companies,
    )
    from partnerhub.statements.tests.helpers import at, company_on, item_of, plan_with_price, sell

    this_month = timezone.localdate().replace(day=1)
    anchor = month_shift(this_month, -3)
    plan = plan_with_price(
        personas.reseller_a,
        monthly_minor=99_900,
        gst=True,
        revenue_share_bps=2_500,
        currency="INR",
        name="growth",
    )
    company = company_on(plan, anchor=anchor, currency="INR", name="Bharat Tickets")
    item = item_of(company, reseller_fee=150, gateway_fee=45, currency="INR")
    sell(item, 30, at(month_shift(anchor, 1).replace(day=10)))
    sell(item, 12, at(month_shift(anchor, 2).replace(day=3)))
    statements_close_companies(company_ids=[company.pk], cutoff=timezone.now())
    closed_month = month_shift(this_month, -2)
    reseller_statements_close(reseller_ids=[personas.reseller_a.pk], month=closed_month)
    return {"company": company, "month": closed_month, "this_month": this_month}


def test_pages_show_the_engines_statements_as_stored(personas: Any, engine_books: Any) -> None:
    from partnerhub.statements.selectors import statement_csv, statement_get_for_actor

    client = client_for(personas.admin_a_user)
    month = engine_books["month"]
    stored = Statement.objects.get(kind="reseller", status="closed", period_start=month)
    assert stored.gross_minor > 0 and stored.number is not None
    url = reverse("statements:reseller", args=[personas.reseller_a.pk])
    response = client.get(url, {"month": f"{month:%Y-%m}"})
    (shown,) = response.context["statements"]
    assert shown.statement.pk == stored.pk and shown.reconciles
    page = response.content.decode()
    assert f'data-testid="total-gross">{format_money(stored.gross_minor, "INR")}<' in page
    assert f"Closed · No. {stored.number}" in page
    # The chart's month is the stored statement's gross.
    ((_, groups, _),) = response.context["charts"]
    assert groups[-1][1][0] == (stored.gross_minor, format_money(stored.gross_minor, "INR"))

    detail = client.get(reverse("statements:detail", args=[stored.pk]))
    lines = list(stored.lines.all())
    assert len(detail.context["page"].object_list) == len(lines) > 0
    assert "<td>Bharat Tickets</td>" in detail.content.decode()
    csv_text = client.get(reverse("statements:csv", args=[stored.pk])).content.decode()
    assert csv_text == statement_csv(statement_get_for_actor(personas.admin_a, stored.pk))

    company = engine_books["company"]
    panel = client.get(
        reverse("statements:company_list", args=[company.pk]), HTTP_HX_REQUEST="true"
    )
    drafts = panel.context["drafts"]
    assert [d.statement.period_start for d in drafts] == [engine_books["this_month"]]
    assert all(d.reconciles for d in drafts + panel.context["closed"])
    closed = Statement.objects.filter(company=company, status="closed").order_by("-period_start")
    assert [c.statement.pk for c in panel.context["closed"]] == [s.pk for s in closed]
    assert len(closed) >= 2  # the months three and two back, whatever today is


def test_a_month_not_started_has_no_statement_and_no_next_link(personas: Any) -> None:
    client = client_for(personas.admin_a_user)
    url = reverse("statements:reseller", args=[personas.reseller_a.pk])
    this_month = timezone.localdate().replace(day=1)
    future = month_shift(this_month, 2)
    response = client.get(url, {"month": f"{future:%Y-%m}"})
    assert response.context["statements"] == []
    page = response.content.decode()
    assert f"{future:%B %Y} has not started yet" in page
    assert 'data-testid="next-month"' not in page
    assert f"up to {this_month:%B %Y}" in page  # the chart stops at today's month
    current = client.get(url, {"month": f"{this_month:%Y-%m}"}).content.decode()
    assert 'data-testid="next-month"' not in current
    last = client.get(url).content.decode()
    assert 'data-testid="next-month"' in last
    assert Statement.objects.filter(period_start=future).count() == 0
