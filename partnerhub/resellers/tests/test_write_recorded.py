"""The tail of a plan or company write: versions bumped and the audit row, together."""

from __future__ import annotations

from django.db import transaction

from partnerhub.audit.models import AuditEvent
from partnerhub.resellers.models import ResellerVersions
from partnerhub.resellers.versions import write_recorded


def test_a_recorded_write_bumps_the_resellers_plan_version_and_writes_its_audit_row(personas):
    before = ResellerVersions.objects.get(reseller=personas.reseller_a)
    other_before = ResellerVersions.objects.get(reseller=personas.reseller_b)
    with transaction.atomic():
        write_recorded(
            actor=personas.admin_a,
            action="plan.update",
            object_type="plan",
            object_id=personas.plan_a.pk,
            object_repr=personas.plan_a.name,
            reseller_id=personas.reseller_a.pk,
            old={"name": "old"},
            new={"name": "new"},
        )

    after = ResellerVersions.objects.get(reseller=personas.reseller_a)
    assert (after.plans, after.entitlements) == (before.plans + 1, before.entitlements)
    assert ResellerVersions.objects.get(reseller=personas.reseller_b) == other_before
    event = AuditEvent.objects.get(action="plan.update", object_id=personas.plan_a.pk)
    assert event.reseller_id == personas.reseller_a.pk
    assert event.changes == {"name": {"old": "old", "new": "new"}}
