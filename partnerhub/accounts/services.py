"""Who may act, and how: hub users' roles and API keys (SPEC §1, §9)."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from partnerhub.accounts.authentication import (
    KEY_PREFIX,
    _hash_key,
)
from partnerhub.accounts.models import ApiKey, Membership
from partnerhub.accounts.selectors import api_key_list_for_actor
from partnerhub.audit.services import audit_record
from partnerhub.companies.models import Company
from partnerhub.core.actor import Actor, Role
from partnerhub.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from partnerhub.resellers.models import Reseller

# --- hub users -------------------------------------------------------------------------------


def _membership_role(role: str | Role) -> Membership.Role:
    try:
        return Membership.Role(str(role))
    except ValueError:
        allowed = ", ".join(Membership.Role.values)
        raise ValidationFailed.field("role", f"must be one of: {allowed}") from None


def user_create(
    *,
    actor: Actor,
    username: str,
    password: str,
    role: str | Role,
    reseller_id: int | None = None,
    email: str = "",
) -> AbstractBaseUser:
    """A hub user with one role. The platform creates anyone; a reseller admin its own team."""
    membership_role = _membership_role(role)
    if membership_role == Membership.Role.PLATFORM:
        actor.require_platform()
        if reseller_id is not None:
            raise ValidationFailed.field("reseller_id", "a platform user belongs to no reseller")
    else:
        if reseller_id is None:
            raise ValidationFailed.field("reseller_id", "a reseller user needs a reseller")
        actor.require_write(reseller_id)
        if not Reseller.objects.filter(pk=reseller_id).exists():
            raise NotFound("Not found.")
    username = (username or "").strip()
    if not username:
        raise ValidationFailed.field("username", "must not be empty")
    user_model = get_user_model()
    user = user_model(username=username, email=email)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationFailed(
            "password: " + " ".join(exc.messages), details={"password": exc.messages}
        ) from None
    is_platform = membership_role == Membership.Role.PLATFORM
    user.is_staff = is_platform  # the platform operator may browse the Django admin
    user.is_superuser = is_platform
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
            Membership.objects.create(user=user, role=membership_role, reseller_id=reseller_id)
            audit_record(
                actor=actor,
                action="user.create",
                object_type="user",
                object_id=user.pk,
                object_repr=username,
                reseller_id=reseller_id,
                new={"username": username, "role": str(membership_role)},
            )
    except IntegrityError:
        raise Conflict(
            f"A user named {username!r} already exists.",
            details={"username": ["already taken"]},
        ) from None
    return user


# --- API keys ---------------------------------------------------------------------------------


def _new_raw_key() -> tuple[str, str]:
    # The prefix is hex so it never contains the "_" separator; the secret may.
    prefix = secrets.token_hex(6)
    return prefix, f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"


def _key_owner(
    *, actor: Actor, scope: ApiKey.Scope, reseller_id: int | None, company_id: int | None
) -> tuple[int | None, int | None]:
    """Check the scope/owner combination and who may mint it; answer (reseller_id, company_id)."""
    if actor.role in (Role.RESELLER_VIEWER, Role.COMPANY, Role.ANONYMOUS):
        raise PermissionDenied("This account cannot create API keys.")
    if scope == ApiKey.Scope.PLATFORM:
        if reseller_id is not None or company_id is not None:
            raise ValidationFailed.field("scope", "a platform key belongs to no reseller")
        actor.require_platform()
        return None, None
    if scope == ApiKey.Scope.COMPANY:
        if company_id is None:
            raise ValidationFailed.field("company_id", "a company key needs a company")
        company = Company.objects.filter(pk=company_id).only("reseller_id").first()
        if company is None or not actor.sees_reseller(company.reseller_id):
            raise NotFound("Not found.")
        if reseller_id is not None and reseller_id != company.reseller_id:
            raise ValidationFailed.field("reseller_id", "the company belongs to another reseller")
        actor.require_write(company.reseller_id)
        return company.reseller_id, company_id
    if reseller_id is None:
        raise ValidationFailed.field("reseller_id", "a reseller key needs a reseller")
    if company_id is not None:
        raise ValidationFailed.field("company_id", "a reseller key belongs to no company")
    actor.require_write(reseller_id)
    if not Reseller.objects.filter(pk=reseller_id).exists():
        raise NotFound("Not found.")
    return reseller_id, None


def api_key_create(
    *,
    actor: Actor,
    scope: str,
    reseller_id: int | None = None,
    company_id: int | None = None,
    name: str = "",
) -> tuple[ApiKey, str]:
    """Mint a key. Answers the stored key and the raw key, which is never shown again."""
    try:
        key_scope = ApiKey.Scope(scope)
    except ValueError:
        allowed = ", ".join(ApiKey.Scope.values)
        raise ValidationFailed.field("scope", f"must be one of: {allowed}") from None
    name = (name or "").strip()
    if len(name) > 120:
        raise ValidationFailed.field("name", "must be at most 120 characters")
    owner_reseller_id, owner_company_id = _key_owner(
        actor=actor, scope=key_scope, reseller_id=reseller_id, company_id=company_id
    )
    prefix, raw_key = _new_raw_key()
    with transaction.atomic():
        key = ApiKey.objects.create(
            name=name,
            prefix=prefix,
            hashed_secret=_hash_key(raw_key),
            scope=key_scope,
            reseller_id=owner_reseller_id,
            company_id=owner_company_id,
            created_by_id=actor.user_id,
        )
        audit_record(
            actor=actor,
            action="api_key.create",
            object_type="api_key",
            object_id=key.pk,
            object_repr=f"key:{prefix}",
            reseller_id=owner_reseller_id,
            new={
                "name": name,
                "prefix": prefix,
                "scope": str(key_scope),
                "reseller_id": owner_reseller_id,
                "company_id": owner_company_id,
            },
        )
    return key, raw_key


def api_key_revoke(*, actor: Actor, api_key_id: int) -> ApiKey:
    """Revoke a key at once; revoking a revoked key changes nothing."""
    with transaction.atomic():
        # The lookup is scoped before any check that depends on the key found, so another
        # tenant's key (or a platform key) answers exactly as a missing one (SPEC §1). A
        # company key may not manage keys at all: 403 whatever id it names.
        key = api_key_list_for_actor(actor).select_for_update().filter(pk=api_key_id).first()
        if key is None:
            raise NotFound("Not found.")
        actor.require_write(key.reseller_id)
        if key.revoked_at is not None:
            return key
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            action="api_key.revoke",
            object_type="api_key",
            object_id=key.pk,
            object_repr=f"key:{key.prefix}",
            reseller_id=key.reseller_id,
            changes={"revoked": {"old": False, "new": True}},
        )
    return key
