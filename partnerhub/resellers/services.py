"""Writes on resellers: features (funnelling), fee schedule, default registration plan (SPEC §3)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q

from partnerhub.audit.services import audit_record
from partnerhub.catalog.models import Feature
from partnerhub.companies.models import Company
from partnerhub.core.actor import Actor
from partnerhub.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from partnerhub.core.validation import clean_bool, clean_keys, clean_str, reject_unknown
from partnerhub.fees.apply import check_fee_apply_mode, fee_change_job, recalculation_needed
from partnerhub.fees.models import RecalcJob, SaleItem
from partnerhub.fees.schedules import (
    ScheduleSnapshot,
    fee_schedule_create,
    fee_schedule_replace,
    parse_fee_entries,
    schedule_snapshot,
)
from partnerhub.plans.models import Plan
from partnerhub.resellers.models import RESELLER_NAME_MAX_LENGTH, RESELLER_SLUG_MAX_LENGTH, Reseller
from partnerhub.resellers.versions import versions_bump
from partnerhub.webhooks import announce

RESELLER_FIELDS = (
    "name",
    "slug",
    "features",
    "default_registration_plan_id",
    "registration_plan_choice",
    "fees",
    "blended",
)
# Only the platform decides who a reseller is and what it may pass on.
PLATFORM_ONLY_FIELDS = ("name", "slug", "features")
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass
class ResellerUpdateResult:
    reseller: Reseller
    job: RecalcJob | None


def reseller_state(reseller: Reseller) -> dict[str, Any]:
    """What the audit log records of a reseller, before and after a write."""
    return {
        "name": reseller.name,
        "slug": reseller.slug,
        "features": sorted(reseller.feature_keys()),
        "default_registration_plan_id": reseller.default_registration_plan_id,
        "registration_plan_choice": reseller.registration_plan_choice,
        **schedule_snapshot(reseller.fee_schedule_id).as_audit(),
    }


def _clean_slug(value: Any) -> str:
    slug = clean_str(value, "slug", max_length=RESELLER_SLUG_MAX_LENGTH)
    if not SLUG_PATTERN.match(slug):
        raise ValidationFailed.field(
            "slug", "use lowercase letters, digits and single hyphens (it appears in URLs)"
        )
    return slug


def _clean_features(value: Any) -> list[Feature]:
    keys = clean_keys(value, "features")
    features = list(Feature.objects.filter(key__in=keys))
    unknown = sorted(set(keys) - {f.key for f in features})
    if unknown:
        raise ValidationFailed.field("features", f"unknown feature(s): {', '.join(unknown)}")
    return features


def _clean_default_plan(reseller_id: int | None, value: Any) -> int | None:
    field = "default_registration_plan_id"
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed.field(field, "must be a plan id or null")
    exists = (
        reseller_id is not None
        and Plan.objects.live().filter(pk=value, reseller_id=reseller_id).exists()
    )
    if not exists:
        raise ValidationFailed.field(field, "not a plan of this reseller (or it is deleted)")
    return value


def _check_slug_free(slug: str, *, exclude_id: int | None = None) -> None:
    taken = Reseller.objects.filter(slug=slug)
    if exclude_id is not None:
        taken = taken.exclude(pk=exclude_id)
    if taken.exists():
        raise Conflict(
            f"A reseller with slug {slug!r} already exists.",
            details={"slug": ["already taken"]},
        )


def reseller_create(
    *,
    actor: Actor,
    name: str,
    slug: str,
    features: list[str] | None = None,
    fees: Sequence[Mapping[str, Any]] | None = None,
    blended: Mapping[str, Any] | None = None,
    default_registration_plan_id: int | None = None,
) -> Reseller:
    actor.require_platform()
    name = clean_str(name, "name", max_length=RESELLER_NAME_MAX_LENGTH)
    slug = _clean_slug(slug)
    feature_rows = _clean_features(features or [])
    if not isinstance(fees or [], list | tuple):
        raise ValidationFailed.field("fees", "must be a list of fee entries")
    snapshot = parse_fee_entries(fees or [], blended or {})
    # A new reseller has no plans yet, so any plan id is somebody else's.
    _clean_default_plan(None, default_registration_plan_id)
    try:
        with transaction.atomic():
            _check_slug_free(slug)
            reseller = Reseller.objects.create(
                name=name, slug=slug, fee_schedule=fee_schedule_create(snapshot)
            )
            reseller.features.set(feature_rows)
            audit_record(
                actor=actor,
                action="reseller.create",
                object_type="reseller",
                object_id=reseller.pk,
                object_repr=name,
                reseller_id=reseller.pk,
                old={},
                new=reseller_state(reseller),
            )
    except IntegrityError:  # a concurrent create took the slug after our check
        raise Conflict(
            f"A reseller with slug {slug!r} already exists.", details={"slug": ["already taken"]}
        ) from None
    return reseller


def _companies_on_reseller_fees(reseller_id: int) -> list[int]:
    """Companies whose effective schedule is the reseller's: off plan fees, none of their own."""
    return list(
        Company.objects.filter(reseller_id=reseller_id, has_own_fees=False)
        .filter(Q(plan__isnull=True) | Q(use_plan_fees=False))
        .values_list("pk", flat=True)
    )


def _fee_change_job(
    *,
    actor: Actor,
    reseller: Reseller,
    before: ScheduleSnapshot,
    after: ScheduleSnapshot,
    fee_apply_mode: str | None,
) -> RecalcJob | None:
    """The fee apply mode rule (fees/apply.py) for the companies on the reseller's schedule;
    asked only where stored items were computed from it."""
    recalculation = recalculation_needed(before, after)
    company_ids = _companies_on_reseller_fees(reseller.pk) if recalculation != "none" else []
    if not SaleItem.objects.filter(company_id__in=company_ids).exists():
        recalculation = "none"
    return fee_change_job(
        actor=actor,
        reseller_id=reseller.pk,
        recalculation=recalculation,
        fee_apply_mode=fee_apply_mode,
        reason=f"reseller {reseller.slug} fees",
        company_ids=company_ids,
    )


def _apply_fees(reseller: Reseller, changes: Mapping[str, Any]) -> ScheduleSnapshot:
    current = schedule_snapshot(reseller.fee_schedule_id)
    if "fees" not in changes and "blended" not in changes:
        return current
    raw_fees = changes["fees"] if "fees" in changes else current.entries_as_dicts()
    raw_blended = changes["blended"] if "blended" in changes else current.blended_dict()
    if not isinstance(raw_fees, list):
        raise ValidationFailed.field("fees", "must be a list of fee entries")
    if raw_blended is not None and not isinstance(raw_blended, Mapping):
        raise ValidationFailed.field("blended", "must be an object of currency to true/false")
    after = parse_fee_entries(raw_fees, raw_blended)
    if after != current:
        fee_schedule_replace(schedule_id=reseller.fee_schedule_id, snapshot=after)
    return after


def _apply_identity(reseller: Reseller, changes: Mapping[str, Any]) -> None:
    if "name" in changes:
        reseller.name = clean_str(changes["name"], "name", max_length=RESELLER_NAME_MAX_LENGTH)
    if "slug" in changes:
        reseller.slug = _clean_slug(changes["slug"])
        _check_slug_free(reseller.slug, exclude_id=reseller.pk)
    if "features" in changes:
        reseller.features.set(_clean_features(changes["features"]))


def reseller_update(
    *,
    actor: Actor,
    reseller_id: int,
    changes: Mapping[str, Any],
    fee_apply_mode: str | None = None,
) -> ResellerUpdateResult:
    """Any subset of RESELLER_FIELDS. A reseller admin may change its default registration
    plan and its fee schedule; name, slug and features are the platform's."""
    if not isinstance(changes, Mapping):
        raise ValidationFailed.field("changes", "must be an object")
    reject_unknown(changes, RESELLER_FIELDS)
    actor.require_write(reseller_id)
    if not actor.is_platform and any(f in changes for f in PLATFORM_ONLY_FIELDS):
        raise PermissionDenied(
            "Only the platform operator can change a reseller's name, slug or features."
        )
    check_fee_apply_mode(fee_apply_mode)
    with transaction.atomic():
        reseller = Reseller.objects.select_for_update().filter(pk=reseller_id).first()
        if reseller is None:
            raise NotFound("Not found.")
        old = reseller_state(reseller)
        entitlements_before = announce.reseller_before(reseller)
        before = schedule_snapshot(reseller.fee_schedule_id)
        _apply_identity(reseller, changes)
        if "default_registration_plan_id" in changes:
            reseller.default_registration_plan_id = _clean_default_plan(
                reseller.pk, changes["default_registration_plan_id"]
            )
        if "registration_plan_choice" in changes:
            reseller.registration_plan_choice = clean_bool(
                changes["registration_plan_choice"], "registration_plan_choice"
            )
        after = _apply_fees(reseller, changes)
        if reseller_state(reseller) != old:
            reseller.save()  # a save that changes nothing writes nothing
        job = _fee_change_job(
            actor=actor,
            reseller=reseller,
            before=before,
            after=after,
            fee_apply_mode=fee_apply_mode,
        )
        new = reseller_state(reseller)
        if new != old:
            audit_record(
                actor=actor,
                action="reseller.update",
                object_type="reseller",
                object_id=reseller.pk,
                object_repr=reseller.name,
                reseller_id=reseller.pk,
                old=old,
                new=new,
            )
        if new != old or after != before:
            # Features and fees reach every company; any change may show on its plans.
            versions_bump(
                reseller.pk, entitlements=new["features"] != old["features"] or after != before
            )
        announce.reseller_update_announce(reseller, entitlements_before)
    return ResellerUpdateResult(reseller=reseller, job=job)
