"""Statements in the hub (SPEC §15): a reseller's month (totals, the reconciliation and
twelve months of revenue), a company's statements (the panel on its page), one statement
with its lines, and its CSV.

Every read goes through the actor-scoped selectors, so another reseller's company or
statement is exactly as missing as one that does not exist (404).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from partnerhub.accounts.hub import actor_of, forbidden, hub_view, is_htmx
from partnerhub.companies.selectors import companies_for_actor, company_get_for_actor
from partnerhub.core.money import format_money
from partnerhub.resellers.selectors import reseller_get_for_actor, reseller_list_for_actor
from partnerhub.statements.models import Statement
from partnerhub.statements.selectors import (
    company_statements_for_actor,
    reseller_revenue_history,
    reseller_statements_for_actor,
    statement_csv,
    statement_get_for_actor,
)

HISTORY_MONTHS = 12
PANEL_CLOSED = 5  # closed statements the company page lists; the rest are a click away
STATEMENTS_PAGE = 24
LINES_PAGE = 200  # a reseller statement has a line per company and kind: thousands
MONTH_FORMAT = re.compile(r"(\d{4})-(\d{2})")
BAD_MONTH = "Choose a month as YYYY-MM (for example 2026-11); showing last month."


@dataclass(frozen=True)
class Shown:
    """A statement as the hub shows it."""

    statement: Statement
    last_day: date  # the period's last day: period_end is the next period's first
    reconciles: bool  # gross = platform share + reseller share + GST + gateway fees
    ended: bool  # the period is over (a draft waiting for its grace to pass)

    @classmethod
    def of(cls, statement: Statement) -> Shown:
        parts = (
            statement.platform_share_minor
            + statement.reseller_share_minor
            + statement.gst_minor
            + statement.gateway_fees_minor
        )
        return cls(
            statement,
            statement.period_end - timedelta(days=1),
            parts == statement.gross_minor,
            statement.period_end <= _today(),
        )


def month_start(raw: str, today: date) -> tuple[date, str]:
    """`?month=YYYY-MM` as the month's first day, and an error to show when it is not one.
    Without a month (or with a bad one) the page shows the last month: the latest whole
    month, what a finance person opens statements for (the current one is a draft), and
    already closed, so read from its stored rows rather than computed."""
    last_month = month_shift(today.replace(day=1), -1)
    if not raw:
        return last_month, ""
    match = MONTH_FORMAT.fullmatch(raw.strip())
    if match is None or not 1 <= int(match[2]) <= 12 or not 1900 <= int(match[1]) <= 9999:
        return last_month, BAD_MONTH
    return date(int(match[1]), int(match[2]), 1), ""


def month_shift(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _today() -> date:
    return timezone.localdate()


def _month_query(request: HttpRequest) -> str:
    raw = request.GET.get("month", "")
    return f"?month={raw}" if MONTH_FORMAT.fullmatch(raw) else ""


@hub_view
@require_GET
def statements_home(request: HttpRequest) -> HttpResponse:
    """The navigation's Statements: a reseller member's own; the operator picks one."""
    actor = actor_of(request)
    if actor.is_reseller_member and actor.reseller_id is not None:
        target = reverse("statements:reseller", args=[actor.reseller_id])
        return redirect(target + _month_query(request))
    if not actor.is_platform:
        return forbidden(request, "Statements are shown to resellers and the platform.")
    raw = request.GET.get("reseller", "")
    if raw.isdigit():
        reseller = reseller_get_for_actor(actor, int(raw))
        target = reverse("statements:reseller", args=[reseller.pk])
        return redirect(target + _month_query(request))
    resellers = reseller_list_for_actor(actor)
    return render(request, "statements/choose_reseller.html", {"resellers": resellers})


# (currency, chart groups, table rows): what the template draws for one currency.
MonthChart = tuple[str, list[tuple[str, list[tuple[int, str]]]], list[tuple[date, Any]]]


def _chart_groups(history: list[Any], end: date) -> list[MonthChart]:
    """Per currency, the last twelve months up to `end` (a month without statements
    shows as zero): the chart's groups (label, [(gross, shown), (share, shown)]) and
    the table's rows, newest first."""
    months = [month_shift(end, -back) for back in range(HISTORY_MONTHS - 1, -1, -1)]
    by_currency: dict[str, dict[date, Any]] = {}
    for row in history:
        by_currency.setdefault(row.currency, {})[row.month] = row
    charts = []
    for currency in sorted(by_currency):
        rows = by_currency[currency]
        groups = []
        for month in months:
            row = rows.get(month)
            gross = row.gross_minor if row else 0
            share = row.reseller_share_minor if row else 0
            groups.append(
                (
                    month.strftime("%b '%y"),
                    [
                        (gross, format_money(gross, currency)),
                        (share, format_money(share, currency)),
                    ],
                )
            )
        table = [(month, rows.get(month)) for month in reversed(months)]
        charts.append((currency, groups, table))
    return charts


@hub_view
@require_GET
def reseller_statements(request: HttpRequest, reseller_id: int) -> HttpResponse:
    """The Statements page: one month of a reseller, a statement per currency."""
    actor = actor_of(request)
    reseller = reseller_get_for_actor(actor, reseller_id)
    month, month_error = month_start(request.GET.get("month", ""), _today())
    this_month = _today().replace(day=1)
    # A month that has not started has no statement yet; computing one would only guess.
    future = month > this_month
    statements = [] if future else reseller_statements_for_actor(actor, reseller.pk, month)
    history = reseller_revenue_history(
        actor, reseller.pk, months=HISTORY_MONTHS, end=min(month, this_month)
    )
    context = {
        "reseller": reseller,
        "month": month,
        "month_error": month_error,
        "future": future,
        "previous_month": month_shift(month, -1),
        "next_month": month_shift(month, 1),
        "this_month": this_month,
        "statements": [Shown.of(s) for s in statements],
        "charts": _chart_groups(history, min(month, this_month)),
        "resellers": reseller_list_for_actor(actor) if actor.is_platform else [],
        "grace_hours": _grace_hours(),
    }
    template = "statements/_month.html" if is_htmx(request) else "statements/reseller.html"
    return render(request, template, context)


def _grace_hours() -> int:
    return int(getattr(settings, "PARTNERHUB_STATEMENT_GRACE_HOURS", 24))


@hub_view
@require_GET
def company_statements(request: HttpRequest, company_id: int) -> HttpResponse:
    """A company's statements: the panel on its page (HTMX), or every one of them."""
    actor = actor_of(request)
    company = company_get_for_actor(actor, company_id)
    statements = company_statements_for_actor(actor, company.pk)
    drafts = [Shown.of(s) for s in statements if s.status == Statement.Status.DRAFT]
    closed = [Shown.of(s) for s in statements if s.status == Statement.Status.CLOSED]
    context: dict[str, Any] = {
        "company": company,
        "drafts": drafts,
        "grace_hours": _grace_hours(),
    }
    if is_htmx(request):
        context |= {"closed": closed[:PANEL_CLOSED], "more_closed": len(closed) > PANEL_CLOSED}
        return render(request, "statements/_company_panel.html", context)
    context["page"] = Paginator(closed, STATEMENTS_PAGE).get_page(request.GET.get("page"))
    return render(request, "statements/company.html", context)


@hub_view
@require_GET
def statement_detail(request: HttpRequest, statement_id: int) -> HttpResponse:
    """One statement: its totals, the reconciliation and every line."""
    actor = actor_of(request)
    statement = statement_get_for_actor(actor, statement_id)
    page = Paginator(list(statement.lines.all()), LINES_PAGE).get_page(request.GET.get("page"))
    company_names: dict[int, str] = {}
    if statement.kind == Statement.Kind.RESELLER:
        ids = {line.company_id for line in page if line.company_id is not None}
        company_names = dict(
            companies_for_actor(actor).filter(pk__in=ids).values_list("id", "name")
        )
    context = {
        "shown": Shown.of(statement),
        "statement": statement,
        "page": page,
        "company_names": company_names,
        "grace_hours": _grace_hours(),
        "month_param": statement.period_start.strftime("%Y-%m"),
    }
    return render(request, "statements/detail.html", context)


def csv_filename(statement: Statement) -> str:
    who = f"{statement.number}" if statement.number else f"draft-{statement.pk}"
    return f"statement-{who}-{statement.period_start:%Y-%m-%d}-{statement.currency}.csv"


@hub_view
@require_GET
def statement_csv_download(request: HttpRequest, statement_id: int) -> HttpResponse:
    """The statement's lines as CSV (one row per line, the same file as the API's)."""
    statement = statement_get_for_actor(actor_of(request), statement_id)
    response = HttpResponse(statement_csv(statement), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{csv_filename(statement)}"'
    return response
