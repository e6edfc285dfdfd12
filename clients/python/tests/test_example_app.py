"""examples/host_app runs as documented: a Django host platform whose webhook view hears a
real plan edit, and whose sends are counted by Partnerhub."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest
from live import REPO, LivePartnerhub, free_port, wait_until
from partnerhub_client import Partnerhub

from conftest import World

pytestmark = pytest.mark.live


def test_the_example_host_app(
    server: LivePartnerhub, platform_key: str, admin: Partnerhub, world: World, tmp_path
) -> None:
    port = free_port()
    endpoint = admin.create_webhook_endpoint(
        {"url": f"http://127.0.0.1:{port}/partnerhub/webhooks", "reseller_id": world.reseller_id}
    )
    env = {
        **server.env,
        "PARTNERHUB_URL": server.url,
        "PARTNERHUB_API_KEY": platform_key,
        "PARTNERHUB_WEBHOOK_SECRET": endpoint.secret,
    }
    env.pop("DJANGO_SETTINGS_MODULE")
    app = subprocess.Popen(
        [
            sys.executable,
            "examples/host_app/app.py",
            "runserver",
            "--noreload",
            f"127.0.0.1:{port}",
        ],
        env=env,
        cwd=REPO,
        stdout=(tmp_path / "host_app.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    company = world.company_ids[0]
    try:

        def answer() -> httpx.Response | None:
            try:
                return httpx.get(f"{base}/companies/{company}/entitlements", timeout=2)
            except httpx.HTTPError:
                return None

        first = wait_until(answer, 30, "the example app to answer").json()
        assert "plans" in first["features"] and first["source"] == "partnerhub"
        sent = httpx.post(f"{base}/companies/{company}/messages").json()
        assert sent == {"sent": True, "remaining": 9}
        time.sleep(1.1)  # past the ordering margin of the first read (test_live.py)

        plan = admin.get_plan(world.plan_id)
        admin.update_plan(world.plan_id, {"features": ["seating"], "version": plan.version})

        def heard() -> dict | None:
            body = httpx.get(f"{base}/companies/{company}/entitlements").json()
            return body if body["source"] == "webhook" else None

        after = wait_until(heard, 30, "the webhook to reach the example app")
        assert "plans" not in after["features"] and not after["stale"]
        refused = httpx.post(f"{base}/companies/{company}/messages")
        assert refused.status_code == 403
        assert admin.get_usage(company).limits["messages"].used == 1
    finally:
        app.terminate()
        app.wait(10)
        admin.delete_webhook_endpoint(endpoint.id)
