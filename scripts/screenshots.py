#!/usr/bin/env python
"""Save a screenshot of every main screen of the web hub into docs/screenshots/.

Boots a throwaway SQLite database with the demo data (`partnerhub demo`'s loader),
runs the recalculation job the demo enqueues, serves the hub on a free local port and
drives the system Chromium through Playwright at 1280 px (plus the plans list at 390 px).

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]
PASSWORD = "partnerhub-demo"

PREPARE = """
import django
django.setup()
from partnerhub.ops.demo_data import demo_data_load
from partnerhub.fees.models import RecalcJob
from partnerhub.fees.recalc import recalculation_run
demo_data_load()
for job in RecalcJob.objects.filter(status="queued"):
    recalculation_run(job_id=job.pk)
"""


# The statement screens open the demo's last closed month (the demo loader closes a year
# of them) and its richest company statement (the most kinds of line). Prints their ids.
STATEMENTS = """
import django
django.setup()
from partnerhub.statements.models import Statement
month = Statement.objects.filter(kind="reseller", status="closed").latest("period_start")
closed = Statement.objects.filter(
    kind="company", status="closed", company__reseller__slug="northwind"
).prefetch_related("lines")
shown = max(closed, key=lambda s: (len({line.kind for line in s.lines.all()}), s.period_start))
print(f"month={month.period_start:%Y-%m} company={shown.company_id} statement={shown.pk}")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the hub did not answer at {url}")


def boot(data_dir: Path) -> tuple[subprocess.Popen[bytes], str, dict[str, str]]:
    env = {
        **os.environ,
        "PARTNERHUB_DEV": "1",
        "DEBUG": "0",
        "PARTNERHUB_DATA_DIR": str(data_dir),
        "DATABASE_URL": f"sqlite:///{data_dir / 'screens.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "partnerhub.settings",
    }
    py = sys.executable
    subprocess.run([py, "-m", "django", "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
    subprocess.run([py, "-c", PREPARE], env=env, cwd=ROOT, check=True)
    books = subprocess.run(
        [py, "-c", STATEMENTS], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if books.returncode:
        raise SystemExit(f"the statements' history failed:\n{books.stderr}")
    picks = dict(word.split("=", 1) for word in books.stdout.split()[-3:])
    port = free_port()
    server = subprocess.Popen(
        [py, "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload", "--insecure"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    wait_for(base + "/login/")
    return server, base, picks


def login(page, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login/" not in url)


def shoot(page, out: Path, name: str, path: str | None = None, full_page: bool = True) -> None:  # type: ignore[no-untyped-def]
    """Long lists are shot at the window's height; forms and pages in full."""
    if path is not None:
        page.goto(path)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(out / f"{name}.png"), full_page=full_page)
    print(f"saved {out / name}.png")


def capture_statements(browser, base: str, out: Path, picks: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """The statement screens: a reseller's closed month, the company page's panel and
    a company statement's lines, and the operator's reseller picker."""
    desktop = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=base)
    page = desktop.new_page()
    login(page, "northwind-admin")
    page.locator(".sidebar").get_by_role("link", name="Statements").click()
    page.goto(page.url.split("?")[0] + f"?month={picks['month']}")
    shoot(page, out, "statements")
    page.goto(f"/companies/{picks['company']}/")
    panel = page.get_by_test_id("company-statements")
    panel.wait_for()
    panel.scroll_into_view_if_needed()
    page.wait_for_load_state("networkidle")
    panel.screenshot(path=str(out / "company-statement.png"))
    print(f"saved {out / 'company-statement'}.png")
    shoot(page, out, "statements-detail", f"/statements/{picks['statement']}/")
    desktop.close()
    operator = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=base)
    page = operator.new_page()
    login(page, "operator")
    page.goto("/statements/")
    row = page.get_by_test_id("statement-resellers").locator("tr", has_text="Southwind")
    row.get_by_role("link").click()
    shoot(page, out, "statements-operator", page.url + f"?month={picks['month']}")
    operator.close()


def capture(base: str, out: Path, picks: dict[str, str], only_statements: bool = False) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        capture_statements(browser, base, out, picks)
        if only_statements:
            browser.close()
            return
        desktop = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=base)
        page = desktop.new_page()
        login(page, "northwind-admin")
        shoot(page, out, "dashboard", "/")
        shoot(page, out, "plans-list", "/plans/")
        page.goto("/plans/")
        growth = page.locator("[data-testid=plan-card]", has_text="Growth")
        growth.get_by_role("link", name="Edit").click()
        shoot(page, out, "plan-editor")
        page.get_by_label("Ticket percent (INR)").fill("2.75")
        page.get_by_label("Analytics").uncheck()
        page.get_by_role("button", name="Save changes").click()
        page.get_by_test_id("plan-confirm").wait_for()
        page.screenshot(path=str(out / "plan-edit-confirm.png"))  # the dialog; nothing saved
        print(f"saved {out / 'plan-edit-confirm'}.png")
        page.goto("/plans/new/")
        shoot(page, out, "plan-create-step1")
        # "Next" checks step 1 first: every blank at its field (issue 13).
        page.locator("#add-price-currency").select_option("INR")
        page.get_by_role("button", name="Next: Plan benefits").click()
        shoot(page, out, "plan-create-step1-errors")
        page.get_by_label("Plan name").fill("Growth")
        page.get_by_label("Plan display name").fill("Growth yearly")
        page.get_by_label("Monthly price (INR)").fill("99999999999999999")
        page.get_by_role("button", name="Next: Plan benefits").click()
        shoot(page, out, "plan-create-step2")
        page.get_by_label("Messages", exact=True).fill("-1")
        page.locator("#add-fee-currency").select_option("INR")
        page.get_by_label("Ticket percent (INR)").fill("150")
        page.get_by_label("Ticket min (INR)").fill("5")
        page.get_by_label("Ticket max (INR)").fill("2")
        page.get_by_role("button", name="Create Plan").click()
        shoot(page, out, "plan-create-all-errors")  # one round trip, every error at its field
        shoot(page, out, "companies-list", "/companies/", full_page=False)
        page.locator("[data-testid=company-table] a").first.click()
        shoot(page, out, "company-edit")
        shoot(page, out, "jobs", "/jobs/")
        page.locator("a[href^='/jobs/']").filter(has_text="#").first.click()
        shoot(page, out, "job-progress")
        shoot(page, out, "audit-log", "/audit/", full_page=False)
        page.goto("/api-keys/")
        page.get_by_label("Access").select_option("company")
        page.get_by_label("Company", exact=True).fill("Nobody Ltd")
        page.get_by_role("button", name="Create key").click()
        shoot(page, out, "api-keys-errors")
        shoot(page, out, "api-keys", "/api-keys/")
        desktop.close()

        operator = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=base)
        page = operator.new_page()
        login(page, "operator")
        shoot(page, out, "resellers", "/resellers/")
        shoot(page, out, "catalog", "/catalog/")
        shoot(page, out, "registration-form", "/r/northwind/register")
        operator.close()

        phone = browser.new_context(viewport={"width": 390, "height": 844}, base_url=base)
        page = phone.new_page()
        login(page, "northwind-admin")
        page.goto("/plans/")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(out / "plans-list-390.png"))
        print(f"saved {out / 'plans-list-390'}.png")
        page.locator("[data-testid=plan-card]", has_text="Growth").get_by_role(
            "link", name="Edit"
        ).click()
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(out / "plan-editor-390.png"), full_page=True)
        print(f"saved {out / 'plan-editor-390'}.png")
        phone.close()
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--statements-only", action="store_true", help="only the statement screens")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="partnerhub-screens-") as tmp:
        server, base, picks = boot(Path(tmp))
        try:
            capture(base, out, picks, only_statements=args.statements_only)
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
