from datetime import UTC, datetime

import pytest

from partnerhub.audit.models import AuditEvent
from partnerhub.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from partnerhub.fees.apply import FeeApplyModeRequired
from partnerhub.fees.models import RecalcJob
from partnerhub.resellers.models import Reseller, ResellerVersions
from partnerhub.resellers.selectors import (
    reseller_get_by_slug,
    reseller_get_for_actor,
    reseller_list_for_actor,
    reseller_serialize,
)
from partnerhub.resellers.services import reseller_create, reseller_update
from partnerhub.testing.factories import CompanyFactory, PlanFactory, SaleItemFactory

GBP_TICKET = {"currency": "GBP", "fee_type": "ticket", "percent_bps": 250, "fixed_minor": 30}


def test_platform_creates_a_reseller_with_features_and_a_fee_schedule(personas):
    reseller = reseller_create(
        actor=personas.platform,
        name="Eastwind Shows",
        slug="eastwind",
        features=["plans", "seating"],
        fees=[GBP_TICKET],
        blended={"GBP": True},
    )

    data = reseller_serialize(reseller_get_for_actor(personas.platform, reseller.pk))
    assert data == {
        "id": reseller.pk,
        "name": "Eastwind Shows",
        "slug": "eastwind",
        "features": ["plans", "seating"],
        "default_registration_plan_id": None,
        "registration_plan_choice": False,
        "fees": [{**GBP_TICKET, "min_minor": None, "max_minor": None}],
        "blended": {"GBP": True},
    }
    event = AuditEvent.objects.get(action="reseller.create", object_id=reseller.pk)
    assert event.reseller_id == reseller.pk
    assert event.changes["features"]["new"] == ["plans", "seating"]


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"slug": "northwind"}, Conflict, "slug"),
        ({"slug": "Bad Slug"}, ValidationFailed, "slug"),
        ({"name": "  "}, ValidationFailed, "name"),
        ({"features": ["no-such-feature"]}, ValidationFailed, "features"),
        ({"fees": [{**GBP_TICKET, "currency": "XXX"}]}, ValidationFailed, "fees[0]"),
        ({"default_registration_plan_id": 1}, ValidationFailed, "default_registration_plan_id"),
    ],
)
def test_reseller_create_validates_its_input(personas, kwargs, error, field):
    before = Reseller.objects.count()
    with pytest.raises(error) as exc:
        reseller_create(actor=personas.platform, **{"name": "X", "slug": "x", **kwargs})
    assert field in exc.value.details
    assert Reseller.objects.count() == before
    assert not AuditEvent.objects.filter(action="reseller.create").exists()


def test_only_the_platform_creates_resellers(personas):
    with pytest.raises(PermissionDenied):
        reseller_create(actor=personas.admin_a, name="X", slug="x")
    assert not Reseller.objects.filter(slug="x").exists()


def test_platform_changes_features_name_and_slug_with_an_audit_row(personas):
    reseller = personas.reseller_a
    result = reseller_update(
        actor=personas.platform,
        reseller_id=reseller.pk,
        changes={"name": "Northwind", "slug": "nw", "features": ["plans"]},
    )

    reseller.refresh_from_db()
    assert (reseller.name, reseller.slug, reseller.feature_keys()) == ("Northwind", "nw", {"plans"})
    assert result.job is None
    event = AuditEvent.objects.get(action="reseller.update", object_id=reseller.pk)
    assert event.changes["features"] == {
        "old": ["api_access", "plans", "seating", "vouchers"],
        "new": ["plans"],
    }
    assert event.changes["slug"] == {"old": "northwind", "new": "nw"}


def test_writes_bump_the_cache_versions_in_their_own_transaction(personas):
    def versions() -> tuple[int, int]:
        row = ResellerVersions.objects.get(reseller=personas.reseller_a)
        return row.plans, row.entitlements

    plans, entitlements = versions()
    reseller_update(
        actor=personas.platform, reseller_id=personas.reseller_a.pk, changes={"name": "NW"}
    )
    assert versions() == (plans + 1, entitlements)  # a name reaches no company
    reseller_update(
        actor=personas.platform, reseller_id=personas.reseller_a.pk, changes={"features": ["plans"]}
    )
    assert versions() == (plans + 2, entitlements + 1)
    with pytest.raises(Conflict):  # rolled back with its write
        reseller_update(
            actor=personas.platform,
            reseller_id=personas.reseller_a.pk,
            changes={"slug": personas.reseller_b.slug},
        )
    assert versions() == (plans + 2, entitlements + 1)


def test_slug_taken_by_another_reseller_is_a_conflict(personas):
    with pytest.raises(Conflict):
        reseller_update(
            actor=personas.platform,
            reseller_id=personas.reseller_a.pk,
            changes={"slug": "southwind"},
        )
    personas.reseller_a.refresh_from_db()
    assert personas.reseller_a.slug == "northwind"


@pytest.mark.parametrize("field", ["name", "slug", "features"])
def test_reseller_admin_cannot_change_platform_fields(personas, field):
    value = {"name": "Mine", "slug": "mine", "features": ["plans"]}[field]
    with pytest.raises(PermissionDenied):
        reseller_update(
            actor=personas.admin_a, reseller_id=personas.reseller_a.pk, changes={field: value}
        )
    assert not AuditEvent.objects.filter(action="reseller.update").exists()


def test_reseller_admin_sets_its_default_registration_plan(personas):
    reseller_update(
        actor=personas.admin_a,
        reseller_id=personas.reseller_a.pk,
        changes={"default_registration_plan_id": personas.plan_a.pk},
    )

    personas.reseller_a.refresh_from_db()
    assert personas.reseller_a.default_registration_plan_id == personas.plan_a.pk
    event = AuditEvent.objects.get(action="reseller.update")
    assert event.actor_label == "admin-a"
    assert event.changes == {
        "default_registration_plan_id": {"old": None, "new": personas.plan_a.pk}
    }


def test_default_registration_plan_must_be_a_live_plan_of_the_reseller(personas):
    plan_b = PlanFactory(reseller=personas.reseller_b)
    deleted = PlanFactory(reseller=personas.reseller_a, deleted_at=datetime.now(UTC))
    for plan_id in (plan_b.pk, deleted.pk, "7", 999_999):
        with pytest.raises(ValidationFailed) as exc:
            reseller_update(
                actor=personas.admin_a,
                reseller_id=personas.reseller_a.pk,
                changes={"default_registration_plan_id": plan_id},
            )
        assert "default_registration_plan_id" in exc.value.details
    personas.reseller_a.refresh_from_db()
    assert personas.reseller_a.default_registration_plan_id is None


def test_viewer_cannot_update_and_outsider_gets_not_found(personas):
    with pytest.raises(PermissionDenied):
        reseller_update(
            actor=personas.viewer_a,
            reseller_id=personas.reseller_a.pk,
            changes={"fees": [GBP_TICKET]},
            fee_apply_mode="all",
        )
    with pytest.raises(NotFound):
        reseller_update(
            actor=personas.admin_b,
            reseller_id=personas.reseller_a.pk,
            changes={"fees": [GBP_TICKET]},
            fee_apply_mode="all",
        )
    assert reseller_serialize(personas.reseller_a)["fees"] == []


def test_unknown_change_is_rejected(personas):
    with pytest.raises(ValidationFailed) as exc:
        reseller_update(
            actor=personas.platform, reseller_id=personas.reseller_a.pk, changes={"colour": "red"}
        )
    assert "colour" in exc.value.details


def _company_on_reseller_fees(personas, **kwargs):
    company = CompanyFactory(reseller=personas.reseller_a, **kwargs)
    SaleItemFactory(company=company)
    return company


def test_fee_change_asks_for_the_apply_mode_when_items_use_the_reseller_schedule(personas):
    _company_on_reseller_fees(personas)
    with pytest.raises(FeeApplyModeRequired) as exc:
        reseller_update(
            actor=personas.admin_a,
            reseller_id=personas.reseller_a.pk,
            changes={"fees": [GBP_TICKET]},
        )
    assert "fee_apply_mode" in exc.value.details
    assert reseller_serialize(personas.reseller_a)["fees"] == []


def test_fee_change_for_all_items_enqueues_a_job_for_the_affected_companies(personas):
    custom = _company_on_reseller_fees(personas)
    off_plan_fees = _company_on_reseller_fees(personas, plan=personas.plan_a, use_plan_fees=False)
    _company_on_reseller_fees(personas, has_own_fees=True)  # its own schedule: unaffected
    SaleItemFactory(company=personas.company_a)  # on plan fees: unaffected

    result = reseller_update(
        actor=personas.admin_a,
        reseller_id=personas.reseller_a.pk,
        changes={"fees": [GBP_TICKET]},
        fee_apply_mode="all",
    )

    assert result.job is not None
    assert result.job.company_ids == sorted([custom.pk, off_plan_fees.pk])
    assert result.job.reseller_id == personas.reseller_a.pk
    assert AuditEvent.objects.filter(action="job.enqueue", object_id=result.job.pk).exists()
    event = AuditEvent.objects.get(action="reseller.update")
    assert event.changes["fees"]["old"] == []
    assert event.changes["fees"]["new"][0]["percent_bps"] == 250


def test_fee_change_for_new_items_only_enqueues_nothing(personas):
    _company_on_reseller_fees(personas)

    result = reseller_update(
        actor=personas.admin_a,
        reseller_id=personas.reseller_a.pk,
        changes={"fees": [GBP_TICKET]},
        fee_apply_mode="new",
    )

    assert result.job is None
    assert not RecalcJob.objects.exists()
    assert reseller_serialize(result.reseller)["fees"][0]["percent_bps"] == 250


def test_blended_change_forces_a_recalculation(personas):
    reseller_update(
        actor=personas.admin_a,
        reseller_id=personas.reseller_a.pk,
        changes={"fees": [GBP_TICKET]},
    )  # no company yet: no mode needed, no job
    assert not RecalcJob.objects.exists()
    _company_on_reseller_fees(personas)

    result = reseller_update(
        actor=personas.admin_a,
        reseller_id=personas.reseller_a.pk,
        changes={"blended": {"GBP": True}},
        fee_apply_mode="new",
    )

    assert result.job is not None
    assert reseller_serialize(result.reseller)["blended"] == {"GBP": True}


def test_bad_fee_apply_mode_is_rejected(personas):
    with pytest.raises(ValidationFailed) as exc:
        reseller_update(
            actor=personas.admin_a,
            reseller_id=personas.reseller_a.pk,
            changes={"fees": []},
            fee_apply_mode="later",
        )
    assert "fee_apply_mode" in exc.value.details


def test_reseller_list_is_scoped_to_the_tenant(personas):
    assert list(reseller_list_for_actor(personas.platform)) == [
        personas.reseller_a,
        personas.reseller_b,
    ]
    assert list(reseller_list_for_actor(personas.admin_a)) == [personas.reseller_a]
    assert list(reseller_list_for_actor(personas.viewer_a)) == [personas.reseller_a]
    assert list(reseller_list_for_actor(personas.company_a_actor)) == []


def test_outsider_gets_not_found_for_another_reseller(personas):
    with pytest.raises(NotFound):
        reseller_get_for_actor(personas.admin_b, personas.reseller_a.pk)
    with pytest.raises(NotFound):
        reseller_get_for_actor(personas.platform, 999_999)
    assert reseller_get_for_actor(personas.viewer_a, personas.reseller_a.pk) == personas.reseller_a


def test_reseller_by_slug_is_public(personas):
    assert reseller_get_by_slug("northwind") == personas.reseller_a
    with pytest.raises(NotFound):
        reseller_get_by_slug("nowhere")


def test_reseller_list_costs_constant_queries(personas, django_assert_max_num_queries):
    for i in range(5):
        reseller_create(actor=personas.platform, name=f"R{i}", slug=f"r{i}", fees=[GBP_TICKET])
    with django_assert_max_num_queries(3):
        data = [reseller_serialize(r) for r in reseller_list_for_actor(personas.platform)]
    assert len(data) == 7
