import pytest
from django.db import transaction

from partnerhub.audit.selectors import audit_event_list_for_actor, audit_event_serialize
from partnerhub.audit.services import audit_record
from partnerhub.core.errors import NotFound, PermissionDenied


def _record(actor, reseller_id, object_type="plan", object_id=1):
    with transaction.atomic():
        return audit_record(
            actor=actor,
            action=f"{object_type}.update",
            object_type=object_type,
            object_id=object_id,
            reseller_id=reseller_id,
            old={"name": "a"},
            new={"name": "b"},
        )


@pytest.fixture
def events(personas):
    return {
        "a_plan": _record(personas.admin_a, personas.reseller_a.pk, "plan", 1),
        "a_company": _record(personas.platform, personas.reseller_a.pk, "company", 2),
        "b_plan": _record(personas.admin_b, personas.reseller_b.pk, "plan", 3),
        "catalog": _record(personas.platform, None, "feature", 4),
    }


def test_platform_sees_every_event_newest_first(personas, events):
    listed = list(audit_event_list_for_actor(personas.platform))

    assert listed == [events["catalog"], events["b_plan"], events["a_company"], events["a_plan"]]


def test_reseller_member_sees_only_its_resellers_events(personas, events):
    assert list(audit_event_list_for_actor(personas.viewer_a)) == [
        events["a_company"],
        events["a_plan"],
    ]
    assert list(audit_event_list_for_actor(personas.admin_b)) == [events["b_plan"]]


def test_outsider_filtering_on_another_reseller_gets_not_found(personas, events):
    with pytest.raises(NotFound):
        audit_event_list_for_actor(personas.admin_b, reseller_id=personas.reseller_a.pk)


def test_company_actor_cannot_read_the_audit_log(personas, events):
    with pytest.raises(PermissionDenied):
        audit_event_list_for_actor(personas.company_a_actor)


def test_events_filter_by_object_and_actor(personas, events):
    by_object = audit_event_list_for_actor(personas.platform, object_type="plan", object_id=3)
    by_actor = audit_event_list_for_actor(personas.admin_a, actor_label="operator")
    by_reseller = audit_event_list_for_actor(personas.platform, reseller_id=personas.reseller_b.pk)

    assert list(by_object) == [events["b_plan"]]
    assert list(by_actor) == [events["a_company"]]
    assert list(by_reseller) == [events["b_plan"]]


def test_serialized_event_carries_old_and_new_values(personas, events):
    data = audit_event_serialize(events["a_plan"])

    assert data["changes"] == {"name": {"old": "a", "new": "b"}}
    assert data["actor_label"] == "admin-a"
    assert data["reseller_id"] == personas.reseller_a.pk
