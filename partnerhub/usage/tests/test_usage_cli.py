"""The CLI's usage: `partnerhub seed --usage-events`, `partnerhub usage purge`."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from partnerhub.audit.models import AuditEvent
from partnerhub.core.actor import platform_actor
from partnerhub.usage.models import UsageCounter, UsageEvent
from partnerhub.usage.selectors import company_usage

pytestmark = pytest.mark.django_db


def test_seed_adds_usage_events_and_their_counters(personas) -> None:
    out = io.StringIO()

    call_command("seed", resellers=1, companies=3, items=0, usage_events=7, stdout=out)

    assert "x 7 usage events" in out.getvalue()
    assert UsageEvent.objects.count() == 21
    counters = list(UsageCounter.objects.values_list("company_id", "used"))
    assert [used for _, used in counters] == [2 + 3 + 4 + 5 + 1 + 2 + 3] * 3
    usage = company_usage(platform_actor(), counters[0][0])
    assert usage["limits"]["messages"]["used"] == 20


def test_purge_removes_old_events_and_keeps_counters(api, keys, personas) -> None:
    company = personas.company_a
    events = [
        {
            "id": f"e{n}",
            "company_id": company.pk,
            "limit": "messages",
            "quantity": 2,
            "timestamp": timezone.now().isoformat(),
        }
        for n in range(3)
    ]
    api.post("/api/v1/usage/events", keys.admin_a, {"events": events})
    UsageEvent.objects.filter(event_id__in=["e0", "e1"]).update(
        recorded_at=timezone.now() - timedelta(days=401)
    )
    out = io.StringIO()

    call_command("usage", "purge", stdout=out)

    assert "purged 2 usage event(s)" in out.getvalue()
    assert list(UsageEvent.objects.values_list("event_id", flat=True)) == ["e2"]
    assert UsageCounter.objects.get(company_id=company.pk).used == 6
    assert AuditEvent.objects.filter(action="usage.events_purge").count() == 1


def test_purge_honours_the_retention_setting(personas, settings) -> None:
    settings.USAGE_RETENTION_DAYS = 10
    call_command("seed", resellers=1, companies=1, items=0, usage_events=2, stdout=io.StringIO())
    UsageEvent.objects.update(recorded_at=timezone.now() - timedelta(days=11))

    call_command("usage", "purge", stdout=io.StringIO())

    assert not UsageEvent.objects.exists()
    assert UsageCounter.objects.get().used == 5
