"""The statement screens in Chromium: the Statements page (month picker, totals, chart),
the company page's statement panel, a statement's lines and its CSV download.

Here rather than in statements/tests: the one Playwright instance per process is this
folder's session fixture (a second one in the same worker fails)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from partnerhub.statements.tests.test_hub_statements import NOV, books, line, statement_row
from partnerhub.web.tests.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

__all__ = ["books"]  # a fixture, used by name below

OVERFLOW = "() => document.documentElement.scrollWidth"


def save_screenshot(page: Any, name: str, tmp_path: Path) -> None:
    """Into PARTNERHUB_SCREENSHOTS_DIR when set (a look at the screens with the tests'
    numbers), else under tmp_path; docs/screenshots come from scripts/screenshots.py."""
    folder = Path(os.environ.get("PARTNERHUB_SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name), full_page=True)
    assert (folder / name).read_bytes()[:4] == b"\x89PNG"


def test_statements_page_changes_month_and_shows_totals_and_chart(
    hub: Any, personas: Any, books: Any, tmp_path: Path
) -> None:
    statement_row(
        reseller=personas.reseller_a,
        currency="GBP",
        number=9,
        lines=[line("subscription", 2500, company=personas.company_a)],
    )
    refused: list[str] = []  # the swaps run under the Content-Security-Policy
    hub.on("console", lambda m: refused.append(m.text) if "Security Policy" in m.text else None)
    login(hub, "admin-a")
    hub.locator(".sidebar").get_by_role("link", name="Statements").click()
    expect(hub.get_by_role("heading", name="Statements", exact=True)).to_be_visible()
    hub.goto(f"/statements/resellers/{personas.reseller_a.pk}/?month=2026-12")
    expect(hub.get_by_test_id("statements-empty")).to_contain_text("No statements yet")
    hub.get_by_test_id("previous-month").click()  # HTMX swaps the month in place
    expect(hub.get_by_test_id("statement-month")).to_have_attribute("data-month", "2026-11")
    assert hub.url.endswith("?month=2026-11")
    inr = hub.locator("[data-testid=reseller-statement][data-currency=INR]")
    expect(inr.get_by_test_id("total-gross")).to_have_text("INR 1,230.00")
    expect(inr.get_by_test_id("statement-status")).to_have_text("Closed · No. 8")
    expect(inr.get_by_test_id("reconciles")).to_have_text("Reconciles")
    gbp = hub.locator("[data-testid=reseller-statement][data-currency=GBP]")
    expect(gbp.get_by_test_id("total-gross")).to_have_text("GBP 25.00")
    chart = hub.locator("[data-testid=revenue-chart][data-currency=INR]").get_by_role("img")
    expect(chart).to_be_visible()
    label = chart.get_attribute("aria-label") or ""
    assert "Oct '26: Gross billed INR 472.00" in label
    assert "Nov '26: Gross billed INR 1,230.00, Reseller share" in label
    save_screenshot(hub, "statements.png", tmp_path)

    hub.get_by_label("Month", exact=True).fill("2026-10")  # the picker itself
    expect(hub.get_by_test_id("statement-month")).to_have_attribute("data-month", "2026-10")
    expect(inr.get_by_test_id("total-gross")).to_have_text("INR 472.00")
    expect(gbp).to_have_count(0)
    hub.reload()  # the pushed URL is the month's own page
    expect(inr.get_by_test_id("total-gross")).to_have_text("INR 472.00")
    assert refused == []


def test_company_panel_opens_a_statement_and_downloads_its_csv(
    hub: Any, personas: Any, books: Any, tmp_path: Path
) -> None:
    login(hub, "viewer-a")
    hub.goto(f"/companies/{personas.company_a.pk}/")
    panel = hub.get_by_test_id("company-statements")
    expect(panel.get_by_test_id("current-draft")).to_contain_text("1 Dec 2026 \u2013 31 Dec 2026")
    expect(panel.get_by_test_id("draft-gross")).to_have_text("INR 1,180.00")
    closed = panel.get_by_test_id("closed-statements")
    expect(closed.locator("tbody tr")).to_have_count(1)
    panel.scroll_into_view_if_needed()
    save_screenshot(hub, "company-statement-panel.png", tmp_path)
    closed.get_by_role("link", name="No. 7").click()
    expect(hub.get_by_role("heading", level=1)).to_contain_text("Acme Events · Statement No. 7")
    lines = hub.get_by_test_id("statement-lines")
    expect(lines.locator("tbody tr")).to_have_count(2)
    expect(lines.locator("tr[data-line-kind=fees]")).to_contain_text("gateway fee 12.00")
    expect(hub.get_by_test_id("lines-total")).to_contain_text("1,230.00")
    save_screenshot(hub, "statement-detail.png", tmp_path)
    with hub.expect_download() as download_info:
        hub.get_by_test_id("download-csv").click()
    download = download_info.value
    assert download.suggested_filename == "statement-7-2026-11-01-INR.csv"
    rows = Path(download.path()).read_text().strip().splitlines()
    assert len(rows) == 3  # the header and the two lines
    hub.get_by_role("link", name="Statements", exact=True).last.click()  # the breadcrumb
    expect(hub.get_by_role("heading", level=1)).to_have_text("Statements of Acme Events")


def test_operator_picks_a_reseller(hub: Any, personas: Any, books: Any) -> None:
    login(hub, "operator")
    hub.goto("/statements/")
    table = hub.get_by_test_id("statement-resellers")
    table.locator("tr", has_text="Northwind Tickets").get_by_role("link").click()
    hub.goto(hub.url + "?month=2026-11")
    expect(hub.get_by_test_id("total-gross").first).to_have_text("INR 1,230.00")
    hub.get_by_label("Reseller", exact=True).select_option(label="Southwind Events")
    expect(hub.get_by_test_id("statements-empty")).to_be_visible()
    assert hub.url.endswith("?month=2026-11")  # the month stays when the reseller changes


def test_statement_pages_fit_390_px(hub: Any, personas: Any, books: Any, tmp_path: Path) -> None:
    hub.set_viewport_size({"width": 390, "height": 844})
    login(hub, "admin-a")
    for path in (
        f"/statements/resellers/{personas.reseller_a.pk}/?month={NOV:%Y-%m}",
        f"/statements/{books['reseller'].pk}/",
        f"/statements/companies/{personas.company_a.pk}/",
        f"/statements/resellers/{personas.reseller_a.pk}/?month={NOV:%Y-%m}",
    ):
        hub.goto(path)
        assert hub.evaluate(OVERFLOW) <= 390, path
    save_screenshot(hub, "statements-390.png", tmp_path)
