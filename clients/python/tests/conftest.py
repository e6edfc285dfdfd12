"""Fixtures: one real Partnerhub for the session (`partnerhub serve` + worker on loopback),
and per test a reseller of its own with a plan, companies and a webhook endpoint whose
receiver is a `Partnerhub` client's WSGI app in this process."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from live import (
    LivePartnerhub,
    Receiver,
    partnerhub_cli,
    partnerhub_env,
    scratch_database,
)
from partnerhub_client import Partnerhub


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LivePartnerhub]:
    tmp = tmp_path_factory.mktemp("partnerhub")
    with scratch_database(tmp, "client") as url:
        env = partnerhub_env(url, tmp)
        partnerhub_cli(env, "migrate", "-v0")
        live = LivePartnerhub(env=env, log_dir=tmp)
        live.start()
        try:
            yield live
        finally:
            live.stop()


@pytest.fixture(scope="session")
def platform_key(server: LivePartnerhub) -> str:
    return partnerhub_cli(server.env, "apikey", "create", "--platform").strip().splitlines()[-1]


@pytest.fixture(scope="session")
def admin(server: LivePartnerhub, platform_key: str) -> Iterator[Partnerhub]:
    """The operator's client, for the setup and the edits under test."""
    client = Partnerhub(server.url, platform_key, poll_interval=None, close_at_exit=False)
    known = {feature.key for feature in client.list_features(limit=200).items}
    for key in ("plans", "seating", "vouchers"):
        if key not in known:
            client.create_feature({"key": key, "name": key.title(), "description": ""})
    yield client
    client.close()


_numbers = itertools.count(1)


@dataclass
class World:
    reseller_id: int
    plan_id: int
    company_ids: list[int]
    endpoint_id: int
    secret: str
    receiver: Receiver

    def host(self, url: str, key: str, **options: object) -> Partnerhub:
        """The host platform's client, receiving this world's webhooks."""
        options = {"poll_interval": None, "close_at_exit": False, **options}
        client = Partnerhub(url, key, webhook_secret=self.secret, **options)  # type: ignore[arg-type]
        self.receiver.app = client.wsgi_app()
        return client


@pytest.fixture
def world(admin: Partnerhub) -> Iterator[World]:
    n = next(_numbers)
    reseller = admin.create_reseller(
        {
            "name": f"Reseller {n}",
            "slug": f"client-{n}",
            "features": ["plans", "seating", "vouchers"],
        }
    )
    plan = admin.create_plan(
        {
            "reseller_id": reseller.id,
            "plan_type": "usage_based",
            "name": f"gold-{n}",
            "billing_cycles": ["monthly"],
            "prices": [{"currency": "INR", "billing_cycle": "monthly", "amount_minor": 99900}],
            "features": ["plans", "seating"],
            "limits": {"messages": 10, "team_members": 5},
        }
    )
    companies = [
        admin.create_company(
            {"reseller_id": reseller.id, "name": f"Company {n}.{i}", "plan_id": plan.id}
        ).id
        for i in range(2)
    ]
    receiver = Receiver()
    receiver.start()
    endpoint = admin.create_webhook_endpoint({"url": receiver.url, "reseller_id": reseller.id})
    try:
        yield World(reseller.id, plan.id, companies, endpoint.id, endpoint.secret, receiver)
    finally:
        receiver.stop()
        admin.delete_webhook_endpoint(endpoint.id)
