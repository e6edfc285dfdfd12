import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from partnerhub.accounts.authentication import (
    KeyLookupExtra,
    api_key_authenticate,
    api_key_authenticate_with,
)
from partnerhub.accounts.models import ApiKey
from partnerhub.accounts.selectors import (
    api_key_get_for_actor,
    api_key_list_for_actor,
    api_key_serialize,
)
from partnerhub.accounts.services import api_key_create, api_key_revoke
from partnerhub.audit.models import AuditEvent
from partnerhub.core.actor import Role
from partnerhub.core.errors import NotFound, PermissionDenied, ValidationFailed
from partnerhub.testing.factories import CompanyFactory


def test_key_is_stored_hashed_and_authenticates_as_its_scope(personas):
    key, raw = api_key_create(
        actor=personas.platform,
        scope="reseller_admin",
        reseller_id=personas.reseller_a.pk,
        name="ci",
    )

    assert raw.startswith(f"ph_{key.prefix}_")
    assert key.hashed_secret == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(ApiKey.objects.filter(pk=key.pk).values().get())
    actor = api_key_authenticate(raw)
    assert actor is not None
    assert actor.role == Role.RESELLER_ADMIN
    assert actor.reseller_id == personas.reseller_a.pk
    assert actor.api_key_id == key.pk
    assert actor.label == f"key:{key.prefix}"


def test_key_creation_is_audited_without_the_secret(personas):
    key, raw = api_key_create(actor=personas.platform, scope="platform", name="ops")

    event = AuditEvent.objects.get(action="api_key.create", object_id=key.pk)
    assert event.actor_label == "operator"
    assert event.reseller_id is None
    assert event.changes["scope"] == {"old": None, "new": "platform"}
    assert raw not in str(event.changes)
    assert key.hashed_secret not in str(event.changes)


def test_wrong_secret_unknown_prefix_and_garbage_do_not_authenticate(personas):
    key, raw = api_key_create(actor=personas.platform, scope="platform")

    assert api_key_authenticate(raw[:-2] + "xx") is None
    assert api_key_authenticate(f"ph_000000000000_{raw.split('_', 2)[2]}") is None
    assert api_key_authenticate("") is None
    assert api_key_authenticate("Bearer nonsense") is None
    assert api_key_authenticate(f"xx_{key.prefix}_secret") is None


def test_company_key_acts_as_that_company(personas):
    key, raw = api_key_create(
        actor=personas.admin_a, scope="company", company_id=personas.company_a.pk
    )

    actor = api_key_authenticate(raw)
    assert actor is not None
    assert actor.role == Role.COMPANY
    assert actor.company_id == personas.company_a.pk
    assert actor.reseller_id == personas.reseller_a.pk
    assert key.reseller_id == personas.reseller_a.pk


def test_revoked_key_no_longer_authenticates_and_revocation_is_audited(personas):
    key, raw = api_key_create(
        actor=personas.admin_a, scope="reseller_viewer", reseller_id=personas.reseller_a.pk
    )

    api_key_revoke(actor=personas.admin_a, api_key_id=key.pk)

    assert api_key_authenticate(raw) is None
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert AuditEvent.objects.filter(action="api_key.revoke", object_id=key.pk).count() == 1
    api_key_revoke(actor=personas.admin_a, api_key_id=key.pk)  # idempotent
    assert AuditEvent.objects.filter(action="api_key.revoke", object_id=key.pk).count() == 1


def test_last_used_is_written_at_most_once_a_minute(personas):
    key, raw = api_key_create(actor=personas.platform, scope="platform")

    api_key_authenticate(raw)
    key.refresh_from_db()
    first = key.last_used_at
    assert first is not None
    api_key_authenticate(raw)
    key.refresh_from_db()
    assert key.last_used_at == first

    ApiKey.objects.filter(pk=key.pk).update(last_used_at=first - timedelta(minutes=5))
    api_key_authenticate(raw)
    key.refresh_from_db()
    assert key.last_used_at > first - timedelta(minutes=5)
    assert key.last_used_at <= timezone.now()


def test_reseller_admin_creates_keys_for_its_own_reseller_and_companies_only(personas):
    api_key_create(
        actor=personas.admin_a, scope="reseller_viewer", reseller_id=personas.reseller_a.pk
    )
    company_b = CompanyFactory(reseller=personas.reseller_b)

    with pytest.raises(NotFound):
        api_key_create(
            actor=personas.admin_a, scope="reseller_admin", reseller_id=personas.reseller_b.pk
        )
    with pytest.raises(NotFound):
        api_key_create(actor=personas.admin_a, scope="company", company_id=company_b.pk)
    with pytest.raises(PermissionDenied):
        api_key_create(actor=personas.admin_a, scope="platform")
    assert ApiKey.objects.count() == 1


@pytest.mark.parametrize("who", ["viewer_a", "company_a_actor"])
def test_viewers_and_companies_cannot_create_keys(personas, who):
    with pytest.raises(PermissionDenied):
        api_key_create(
            actor=getattr(personas, who),
            scope="reseller_viewer",
            reseller_id=personas.reseller_a.pk,
        )
    assert ApiKey.objects.count() == 0
    assert not AuditEvent.objects.filter(action="api_key.create").exists()


@pytest.mark.parametrize(
    ("scope", "kwargs", "field"),
    [
        ("platform", {"reseller_id": "A"}, "scope"),
        ("reseller_admin", {}, "reseller_id"),
        ("reseller_admin", {"reseller_id": "A", "company_id": "C"}, "company_id"),
        ("company", {}, "company_id"),
        ("superuser", {}, "scope"),
    ],
)
def test_scope_and_owner_must_fit_together(personas, scope, kwargs, field):
    ids = {"A": personas.reseller_a.pk, "C": personas.company_a.pk}
    with pytest.raises(ValidationFailed) as exc:
        api_key_create(
            actor=personas.platform, scope=scope, **{k: ids[v] for k, v in kwargs.items()}
        )
    assert field in exc.value.details
    assert ApiKey.objects.count() == 0


def test_company_key_for_another_resellers_company_is_rejected(personas):
    with pytest.raises(ValidationFailed):
        api_key_create(
            actor=personas.platform,
            scope="company",
            company_id=personas.company_a.pk,
            reseller_id=personas.reseller_b.pk,
        )


def test_outsider_gets_not_found_when_revoking_another_tenants_key(personas):
    key, raw = api_key_create(
        actor=personas.platform, scope="reseller_admin", reseller_id=personas.reseller_a.pk
    )
    platform_key, _ = api_key_create(actor=personas.platform, scope="platform")

    with pytest.raises(NotFound):
        api_key_revoke(actor=personas.admin_b, api_key_id=key.pk)
    with pytest.raises(NotFound):
        api_key_revoke(actor=personas.admin_a, api_key_id=platform_key.pk)
    with pytest.raises(NotFound):
        api_key_revoke(actor=personas.admin_a, api_key_id=999_999)
    assert api_key_authenticate(raw) is not None


def test_viewer_cannot_revoke_its_resellers_key(personas):
    key, raw = api_key_create(
        actor=personas.admin_a, scope="reseller_admin", reseller_id=personas.reseller_a.pk
    )

    with pytest.raises(PermissionDenied):
        api_key_revoke(actor=personas.viewer_a, api_key_id=key.pk)
    assert api_key_authenticate(raw) is not None


def test_key_list_is_scoped_to_the_tenant(personas):
    key_a, _ = api_key_create(
        actor=personas.admin_a, scope="company", company_id=personas.company_a.pk
    )
    key_b, _ = api_key_create(
        actor=personas.admin_b, scope="reseller_viewer", reseller_id=personas.reseller_b.pk
    )
    platform_key, _ = api_key_create(actor=personas.platform, scope="platform")

    assert list(api_key_list_for_actor(personas.admin_a)) == [key_a]
    assert list(api_key_list_for_actor(personas.viewer_a)) == [key_a]
    assert set(api_key_list_for_actor(personas.platform)) == {key_a, key_b, platform_key}
    with pytest.raises(NotFound):
        api_key_get_for_actor(personas.admin_b, key_a.pk)
    with pytest.raises(PermissionDenied):
        api_key_list_for_actor(personas.company_a_actor)


def test_serialized_key_never_shows_the_secret(personas):
    key, raw = api_key_create(actor=personas.platform, scope="platform", name="ops")

    data = api_key_serialize(key)

    assert data["prefix"] == key.prefix
    assert data["revoked"] is False
    assert "hashed_secret" not in data
    assert raw not in str(data)


def test_authenticating_a_recently_used_key_is_one_read_and_no_write(
    personas, django_assert_num_queries
):
    _, raw = api_key_create(actor=personas.platform, scope="platform")
    api_key_authenticate(raw)  # first use stamps last_used_at

    with django_assert_num_queries(1) as context:
        actor = api_key_authenticate(raw)

    assert actor is not None
    assert context.captured_queries[0]["sql"].lstrip().upper().startswith("SELECT")


def test_an_extra_read_rides_in_the_key_lookup_and_is_given_only_with_an_accepted_key(personas):
    key, raw = api_key_create(actor=personas.platform, scope="platform")
    company = personas.company_a
    table = company._meta.db_table
    extra = KeyLookupExtra(sql=f"SELECT id, name FROM {table} WHERE id = %s", params=(company.pk,))
    missing = KeyLookupExtra(sql=extra.sql, params=(10**12,))

    actor, row = api_key_authenticate_with(raw, extra)
    _, no_row = api_key_authenticate_with(raw, missing)

    assert actor is not None and actor.role == Role.PLATFORM
    assert row == (company.pk, company.name)
    assert no_row == (None, None)  # no company: the key still authenticates
    assert api_key_authenticate_with(raw[:-2] + "xx", extra) == (None, None)
    api_key_revoke(actor=personas.platform, api_key_id=key.pk)
    assert api_key_authenticate_with(raw, extra) == (None, None)
