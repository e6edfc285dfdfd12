import pytest
from django.contrib.auth.models import AnonymousUser, User

from partnerhub.accounts.authentication import actor_for_user
from partnerhub.accounts.models import Membership
from partnerhub.accounts.services import user_create
from partnerhub.audit.models import AuditEvent
from partnerhub.core.actor import Role
from partnerhub.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from partnerhub.testing.factories import UserFactory


def test_membership_decides_the_actor(personas):
    admin = actor_for_user(personas.admin_a_user)
    viewer = actor_for_user(personas.viewer_a_user)
    operator = actor_for_user(personas.platform_user)

    assert admin is not None and admin.role == Role.RESELLER_ADMIN
    assert admin.reseller_id == personas.reseller_a.pk
    assert admin.label == "user:admin-a"
    assert viewer is not None and viewer.role == Role.RESELLER_VIEWER
    assert operator is not None and operator.role == Role.PLATFORM
    assert operator.reseller_id is None


def test_superuser_without_membership_is_the_platform_operator(db):
    root = UserFactory(username="root", is_superuser=True)

    actor = actor_for_user(root)

    assert actor is not None
    assert actor.role == Role.PLATFORM
    assert actor.user_id == root.pk


def test_users_without_a_role_and_anonymous_users_get_no_actor(db):
    assert actor_for_user(UserFactory(username="nobody")) is None
    assert actor_for_user(UserFactory(username="gone", is_active=False)) is None
    assert actor_for_user(AnonymousUser()) is None
    assert actor_for_user(None) is None


def test_reseller_admin_creates_a_viewer_for_its_reseller(personas):
    user = user_create(
        actor=personas.admin_a,
        username="new-viewer",
        password="a long enough password",
        role="reseller_viewer",
        reseller_id=personas.reseller_a.pk,
    )

    assert user.check_password("a long enough password")
    assert not user.is_staff
    membership = Membership.objects.get(user=user)
    assert membership.role == "reseller_viewer"
    assert membership.reseller_id == personas.reseller_a.pk
    event = AuditEvent.objects.get(action="user.create", object_id=user.pk)
    assert event.reseller_id == personas.reseller_a.pk
    assert event.changes["role"]["new"] == "reseller_viewer"


def test_platform_user_is_a_superuser_with_a_platform_membership(personas):
    user = user_create(
        actor=personas.platform,
        username="second-operator",
        password="a long enough password",
        role=Role.PLATFORM,
    )

    assert user.is_superuser and user.is_staff
    assert actor_for_user(user).role == Role.PLATFORM


def test_user_creation_is_tenant_scoped(personas):
    with pytest.raises(NotFound):
        user_create(
            actor=personas.admin_b,
            username="intruder",
            password="a long enough password",
            role="reseller_admin",
            reseller_id=personas.reseller_a.pk,
        )
    with pytest.raises(PermissionDenied):
        user_create(
            actor=personas.viewer_a,
            username="sneaky",
            password="a long enough password",
            role="reseller_viewer",
            reseller_id=personas.reseller_a.pk,
        )
    with pytest.raises(PermissionDenied):
        user_create(
            actor=personas.admin_a,
            username="boss",
            password="a long enough password",
            role="platform",
        )
    assert not User.objects.filter(username__in=["intruder", "sneaky", "boss"]).exists()


def test_user_input_is_validated(personas):
    with pytest.raises(ValidationFailed) as exc:
        user_create(actor=personas.platform, username="x", password="short", role="platform")
    assert "password" in exc.value.details
    with pytest.raises(ValidationFailed) as exc:
        user_create(actor=personas.platform, username=" ", password="long password", role="x")
    assert "role" in exc.value.details
    with pytest.raises(Conflict):
        user_create(
            actor=personas.platform,
            username="admin-a",
            password="a long enough password",
            role="reseller_admin",
            reseller_id=personas.reseller_a.pk,
        )
    assert not AuditEvent.objects.filter(action="user.create").exists()
