import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from partnerhub.accounts.authentication import actor_for_user, api_key_authenticate
from partnerhub.audit.models import AuditEvent
from partnerhub.companies.models import Company
from partnerhub.core.actor import Role
from partnerhub.fees.models import RecalcJob, SaleItem
from partnerhub.ops.demo_data import DEMO_PASSWORD, demo_data_load
from partnerhub.plans.models import Plan
from partnerhub.registration.services import company_register
from partnerhub.resellers.models import Reseller

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def demo(db):
    return demo_data_load(northwind_companies=40, southwind_companies=15)


def test_demo_builds_two_resellers_with_plans_in_every_state(demo):
    northwind = Reseller.objects.get(slug="northwind")
    southwind = Reseller.objects.get(slug="southwind")
    plans = Plan.objects.filter(reseller=northwind)

    assert northwind.has_plans_feature() and southwind.has_plans_feature()
    assert {
        "seating",
        "vouchers",
        "api_access",
        "analytics",
        "whatsapp",
    } <= northwind.feature_keys()
    assert plans.filter(archived_at__isnull=False).exists()
    assert plans.filter(enabled=False).exists()
    assert plans.filter(deleted_at__isnull=False).exists()
    assert plans.filter(plan_type="revenue_sharing").exists()
    assert plans.filter(prices__currency="INR").exists()
    assert plans.filter(prices__currency="GBP").exists()
    assert northwind.default_registration_plan is not None
    assert northwind.default_registration_plan.assignable
    assert (demo.resellers, demo.plans) == (2, 11)


def test_demo_companies_are_spread_over_plans_and_custom(demo):
    companies = Company.objects.all()

    assert companies.count() == demo.companies == 55
    assert companies.filter(plan__isnull=True).exists()
    assert companies.filter(plan__isnull=False).exists()
    assert companies.exclude(limit_overrides={}).exists()
    assert Company.objects.filter(plan__deleted_at__isnull=False).count() == 0
    # Written through the services: one audit row per company.
    assert AuditEvent.objects.filter(action="company.create").count() == 55


def test_demo_has_sale_items_and_a_recalculation_job_for_the_worker(demo):
    assert SaleItem.objects.count() == demo.sale_items > 0
    assert SaleItem.objects.filter(reseller_fee_minor__gt=0).exists()
    job = RecalcJob.objects.get(pk=demo.job_id)
    assert job.status == RecalcJob.Status.QUEUED


def test_demo_users_log_in_with_the_printed_password(demo):
    roles = {}
    for username, role, password in demo.users:
        user = User.objects.get(username=username)
        assert user.check_password(password)
        roles[username] = actor_for_user(user).role
        assert roles[username] == role
    assert roles == {
        "operator": Role.PLATFORM,
        "northwind-admin": Role.RESELLER_ADMIN,
        "northwind-viewer": Role.RESELLER_VIEWER,
        "southwind-admin": Role.RESELLER_ADMIN,
    }
    assert demo.users[0][2] == DEMO_PASSWORD


def test_demo_api_key_and_registration_work(demo):
    actor = api_key_authenticate(demo.api_key)
    company = company_register(
        reseller_slug="northwind", company_name="Demo Visitor", contact_email="v@example.com"
    )

    assert actor is not None
    assert actor.reseller_id == Reseller.objects.get(slug="northwind").pk
    assert company.plan_id == company.reseller.default_registration_plan_id


def test_demo_refuses_a_database_with_data(personas):
    with pytest.raises(RuntimeError):
        demo_data_load(northwind_companies=1, southwind_companies=1)
    assert Reseller.objects.count() == 2


def _run(args, env, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "partnerhub.cli", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        **kwargs,
    )


@pytest.fixture
def cli_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "PYTEST"))}
    env.pop("PARTNERHUB_TEST_DB_NAME", None)
    env.update(PARTNERHUB_DATA_DIR=str(tmp_path), PARTNERHUB_DEV="1")
    return env


@pytest.mark.slow
def test_partnerhub_demo_no_serve_then_apikey_create_end_to_end(cli_env, tmp_path):
    demo = _run(["demo", "--no-serve"], cli_env)
    assert demo.returncode == 0, demo.stderr
    assert "northwind-admin" in demo.stdout
    assert f"password: {DEMO_PASSWORD}" in demo.stdout
    assert "http://127.0.0.1:8000/" in demo.stdout

    env = {**cli_env, "DATABASE_URL": f"sqlite:///{tmp_path}/demo/partnerhub.sqlite3"}
    created = _run(["apikey", "create", "--reseller", "northwind", "--name", "e2e"], env)
    assert created.returncode == 0, created.stderr
    raw = created.stdout.strip().splitlines()[-1]
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, sys; django.setup();"
            "from partnerhub.accounts.authentication import api_key_authenticate as a;"
            "actor = a(sys.argv[1]); print(actor.role if actor else 'none')",
            raw,
        ],
        env={**env, "DJANGO_SETTINGS_MODULE": "partnerhub.settings"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert check.stdout.strip() == "reseller_admin"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, deadline: float) -> int:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.mark.slow
def test_partnerhub_serve_serves_static_files_and_stops_cleanly_on_sigterm(cli_env, tmp_path):
    env = {**cli_env, "DATABASE_URL": f"sqlite:///{tmp_path}/serve.sqlite3"}
    assert _run(["migrate"], env).returncode == 0
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "partnerhub.cli", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        status = _get(f"http://127.0.0.1:{port}/static/admin/css/base.css", time.monotonic() + 60)
        assert status == 200
        assert (tmp_path / "static" / "admin" / "css" / "base.css").exists()
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=60)[0]
    assert server.returncode == 0, output
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/static/admin/css/base.css", timeout=2)
