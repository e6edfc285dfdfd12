"""The audit log over HTTP: per reseller, filterable by object and actor."""

from __future__ import annotations

import pytest

from partnerhub.api.tests.conftest import assert_error

pytestmark = pytest.mark.django_db


def test_writes_through_the_api_are_in_the_audit_log_with_old_and_new(api, keys, personas) -> None:
    plan = personas.plan_a
    api.patch(f"/api/v1/plans/{plan.pk}", keys.admin_a, {"version": 1, "display_name": "Gold+"})

    body = api.get(
        "/api/v1/audit-events", keys.viewer_a, {"object_type": "plan", "object_id": plan.pk}
    ).json()

    (event,) = body["items"]
    assert event["action"] == "plan.update"
    assert event["actor_role"] == "reseller_admin"
    assert event["actor_label"].startswith("key:")
    assert event["changes"]["display_name"] == {"old": "Gold", "new": "Gold+"}


def test_audit_log_filters_by_actor(api, keys, personas) -> None:
    api.post(f"/api/v1/plans/{personas.plan_a.pk}/archive", keys.admin_a)
    api.post(f"/api/v1/plans/{personas.plan_a.pk}/unarchive", keys.platform)
    label = "key:" + keys.admin_a.split("_")[1]

    mine = api.get("/api/v1/audit-events", keys.admin_a, {"actor_label": label}).json()

    assert [e["action"] for e in mine["items"]] == ["plan.archive"]


def test_outsider_sees_none_of_another_resellers_events(api, keys, personas) -> None:
    api.post(f"/api/v1/plans/{personas.plan_a.pk}/archive", keys.admin_a)

    own = api.get("/api/v1/audit-events", keys.admin_b).json()
    foreign = api.get("/api/v1/audit-events", keys.admin_b, {"reseller_id": personas.reseller_a.pk})

    assert own["count"] >= 1  # B's own key creation
    assert {e["reseller_id"] for e in own["items"]} == {personas.reseller_b.pk}
    assert "plan.archive" not in [e["action"] for e in own["items"]]
    assert_error(foreign, 404)
    assert_error(api.get("/api/v1/audit-events", keys.company_a), 403)
    assert_error(api.get("/api/v1/audit-events", keys.admin_a, {"object_id": 0}), 422)
