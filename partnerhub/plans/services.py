"""Writes on plans: the whole lifecycle of SPEC §4, propagation of SPEC §5, fee apply modes."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from partnerhub.companies.models import Company
from partnerhub.companies.services import (
    companies_detach_from_plan,
    companies_follow_plan_features,
)
from partnerhub.core.actor import Actor
from partnerhub.core.errors import Conflict, NotFound, ValidationFailed
from partnerhub.core.validation import (
    clean_bool,
    clean_str,
)
from partnerhub.fees.apply import (
    Recalculation,
    check_fee_apply_mode,
    fee_change_job,
    recalculation_needed,
)
from partnerhub.fees.models import RecalcJob
from partnerhub.fees.schedules import (
    fee_schedule_create,
)
from partnerhub.plans.drafts import (
    PlanDraft,
    _clean,
    _draft_from_plan,
    _ensure_name_free,
    _save_draft,
)
from partnerhub.plans.models import PLAN_NAME_MAX_LENGTH, Plan
from partnerhub.plans.selectors import (
    plan_free_name,
    plan_get_for_actor,
    require_plans_feature,
)
from partnerhub.resellers.models import Reseller
from partnerhub.resellers.versions import write_recorded
from partnerhub.webhooks import announce

# Companies a preview names; affected_company_count gives the total.
PREVIEW_COMPANIES = 100


@dataclass
class PlanPreview:
    removed_features: list[str]
    added_features: list[str]
    affected_companies: list[dict[str, Any]]  # the first PREVIEW_COMPANIES, by name
    fees_changed: bool
    blended_changed: bool
    recalculation: Recalculation
    affected_company_count: int = 0  # all of them

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class PlanUpdateResult:
    plan: Plan
    job: RecalcJob | None
    preview: PlanPreview


def _reseller_for_write(actor: Actor, reseller_id: int) -> Reseller:
    # require_write scopes first (another tenant's reseller is a 404) and answers a company
    # key's write with the 403 every other write gives it.
    actor.require_write(reseller_id)
    reseller = Reseller.objects.filter(pk=reseller_id).first()
    if reseller is None:
        raise NotFound("Reseller not found.")
    require_plans_feature(actor, reseller)
    return reseller


def plan_create(*, actor: Actor, reseller_id: int, data: Mapping[str, Any]) -> Plan:
    reseller = _reseller_for_write(actor, reseller_id)
    for required in ("plan_type", "name", "billing_cycles"):
        if required not in data:
            raise ValidationFailed.field(required, "is required")
    name = data.get("name")
    base = PlanDraft(plan_type="", name="", display_name=name if isinstance(name, str) else "")
    draft = _clean(reseller, data, base)
    return _insert_plan(actor, reseller, draft, action="plan.create")


def _insert_plan(
    actor: Actor, reseller: Reseller, draft: PlanDraft, *, action: str, **audit_extra: Any
) -> Plan:
    try:
        with transaction.atomic():
            _ensure_name_free(reseller.pk, draft.name)
            plan = Plan(reseller=reseller, fee_schedule=fee_schedule_create())
            _save_draft(plan, draft)
            write_recorded(
                actor=actor,
                action=action,
                object_type="plan",
                object_id=plan.pk,
                object_repr=plan.name,
                reseller_id=reseller.pk,
                old={},
                new={**draft.as_audit(), **audit_extra},
            )
            announce.plan_announce(action, plan)
    except IntegrityError:  # a concurrent save took the name after our check
        _ensure_name_free(reseller.pk, draft.name)
        raise
    return plan


def _companies_whose_features_change(
    plan: Plan, removed: list[str], added: list[str], reseller_keys: set[str]
) -> QuerySet[Company]:
    """Companies on the plan whose effective features the edit would change (SPEC §12):
    one loses a removed feature unless it already excludes it or also has it directly,
    gains an added one unless it has it directly; a feature the reseller lacks changes
    nobody (the reseller is the ceiling)."""
    direct = Company.direct_features.through.objects.filter(company_id=OuterRef("pk"))
    excluded = Company.excluded_features.through.objects.filter(company_id=OuterRef("pk"))
    changes: Q | None = None
    for key in sorted(set(removed) & reseller_keys):
        loses = Q(~Exists(excluded.filter(feature__key=key))) & Q(
            ~Exists(direct.filter(feature__key=key))
        )
        changes = loses if changes is None else changes | loses
    for key in sorted(set(added) & reseller_keys):
        gains = Q(~Exists(direct.filter(feature__key=key)))
        changes = gains if changes is None else changes | gains
    if changes is None:
        return Company.objects.none()
    return Company.objects.filter(changes, plan=plan)


def _preview(plan: Plan, current: PlanDraft, draft: PlanDraft) -> PlanPreview:
    stored = {f.key for f in plan.features.all()}
    removed = sorted(stored - set(draft.features))
    added = sorted(set(draft.features) - stored)
    recalculation = recalculation_needed(current.fees, draft.fees)
    fees_changed = recalculation != "none"
    blended_changed = recalculation == "forced"
    affected = _companies_whose_features_change(plan, removed, added, plan.reseller.feature_keys())
    companies = [
        {"id": c.pk, "name": c.name}
        for c in affected.order_by("name", "id").only("id", "name")[:PREVIEW_COMPANIES]
    ]
    count = len(companies) if len(companies) < PREVIEW_COMPANIES else affected.count()
    return PlanPreview(
        removed, added, companies, fees_changed, blended_changed, recalculation, count
    )


def plan_preview(*, actor: Actor, plan_id: int, changes: Mapping[str, Any]) -> PlanPreview:
    """A dry run of plan_update: what it would remove, add, whom it reaches, and whether
    the fee change needs a choice. Nothing is saved."""
    plan = plan_get_for_actor(actor, plan_id)
    current = _draft_from_plan(plan, plan.reseller.feature_keys())
    return _preview(plan, current, _clean(plan.reseller, changes, current))


def _locked_live_plan(actor: Actor, plan_id: int) -> Plan:
    plan = plan_get_for_actor(actor, plan_id)
    actor.require_write(plan.reseller_id)
    require_plans_feature(actor, plan.reseller)
    plan = Plan.objects.select_for_update(of=("self",)).select_related("reseller").get(pk=plan.pk)
    if plan.deleted:
        raise Conflict("This plan is deleted: restore it first.", code="plan_deleted")
    return plan


def _recalculate_plan(
    *, actor: Actor, plan: Plan, preview: PlanPreview, fee_apply_mode: str | None
) -> RecalcJob | None:
    # A plan fee edit always asks (SPEC §6), even before any item exists.
    return fee_change_job(
        actor=actor,
        reseller_id=plan.reseller_id,
        recalculation=preview.recalculation,
        fee_apply_mode=fee_apply_mode,
        reason=f"plan {plan.name} fees",
        plan_id=plan.pk,
    )


def plan_update(
    *,
    actor: Actor,
    plan_id: int,
    changes: Mapping[str, Any],
    version: int,
    fee_apply_mode: str | None = None,
) -> PlanUpdateResult:
    """Edit a plan; every company on it follows at once (entitlements resolve at read time).
    A stale `version` is a Conflict: someone saved first."""
    check_fee_apply_mode(fee_apply_mode)
    with transaction.atomic():
        plan = _locked_live_plan(actor, plan_id)
        if plan.version != version:
            raise Conflict(
                "This plan was changed by someone else since you opened it.",
                code="stale_version",
                details={"version": plan.version},
            )
        current = _draft_from_plan(plan, plan.reseller.feature_keys())
        draft = _clean(plan.reseller, changes, current)
        if draft.name.casefold() != plan.name.casefold():
            _ensure_name_free(plan.reseller_id, draft.name, exclude_pk=plan.pk)
        preview = _preview(plan, current, draft)
        if draft == _draft_from_plan(plan, {f.key for f in plan.features.all()}):
            # Nothing changes (a funnelled-out feature still stored is a change: saving
            # drops it): no version, no audit row, no job.
            return PlanUpdateResult(plan=plan, job=None, preview=preview)
        before = announce.plan_before(
            plan, added=preview.added_features, removed=preview.removed_features
        )
        plan.version += 1
        _save_draft(plan, draft)
        companies_follow_plan_features(
            plan, added=preview.added_features, removed=preview.removed_features
        )
        job = _recalculate_plan(
            actor=actor, plan=plan, preview=preview, fee_apply_mode=fee_apply_mode
        )
        write_recorded(
            actor=actor,
            action="plan.update",
            object_type="plan",
            object_id=plan.pk,
            object_repr=plan.name,
            reseller_id=plan.reseller_id,
            old=current.as_audit(),
            new=draft.as_audit(),
        )
        announce.plan_update_announce(plan, before)
    return PlanUpdateResult(plan=plan, job=job, preview=preview)


def _set_flag(
    actor: Actor,
    plan_id: int,
    action: str,
    *,
    unchanged: Callable[[Plan], bool] | None = None,
    **values: Any,
) -> Plan:
    """Set row fields of a live plan; a write that changes nothing (`unchanged` tells when
    values are not comparable, as a new timestamp) writes nothing: no version, no audit."""
    with transaction.atomic():
        plan = _locked_live_plan(actor, plan_id)
        old = {k: getattr(plan, k) for k in values}
        if old == values or (unchanged is not None and unchanged(plan)):
            return plan
        for k, v in values.items():
            setattr(plan, k, v)
        plan.version += 1
        plan.save()
        write_recorded(
            actor=actor,
            action=action,
            object_type="plan",
            object_id=plan.pk,
            object_repr=plan.name,
            reseller_id=plan.reseller_id,
            old=old,
            new=values,
        )
        announce.plan_announce(action, plan)
    return plan


def plan_set_enabled(*, actor: Actor, plan_id: int, enabled: bool) -> Plan:
    """The Status toggle: a disabled plan cannot be newly assigned."""
    return _set_flag(actor, plan_id, "plan.set_enabled", enabled=clean_bool(enabled, "enabled"))


def plan_set_visible(*, actor: Actor, plan_id: int, visible: bool) -> Plan:
    return _set_flag(actor, plan_id, "plan.set_visible", visible=clean_bool(visible, "visible"))


def plan_archive(*, actor: Actor, plan_id: int) -> Plan:
    """Hide the plan from assignment; companies on it stay and keep receiving updates."""
    # Archiving an archived plan is a no-op: it keeps its first archived_at.
    return _set_flag(
        actor,
        plan_id,
        "plan.archive",
        unchanged=lambda plan: plan.archived,
        archived_at=timezone.now(),
    )


def plan_unarchive(*, actor: Actor, plan_id: int) -> Plan:
    return _set_flag(actor, plan_id, "plan.unarchive", archived_at=None)


def plan_duplicate(*, actor: Actor, plan_id: int) -> Plan:
    """Copy everything but the assignments, as "Copy of NAME" (then "(2)", …), disabled."""
    source = plan_get_for_actor(actor, plan_id)
    reseller = _reseller_for_write(actor, source.reseller_id)
    if source.deleted:
        raise Conflict(
            "A deleted plan cannot be duplicated: restore it first.", code="plan_deleted"
        )
    draft = _draft_from_plan(source, reseller.feature_keys())
    draft.name = plan_free_name(reseller.pk, f"Copy of {source.name}"[:110])
    draft.enabled = False
    return _insert_plan(actor, reseller, draft, action="plan.duplicate", duplicated_from=source.pk)


def plan_delete(*, actor: Actor, plan_id: int) -> Plan:
    """Soft delete: every company on the plan becomes Custom and keeps exactly the
    features, limits and fees it had."""
    with transaction.atomic():
        plan = _locked_live_plan(actor, plan_id)
        company_ids = companies_detach_from_plan(plan)
        plan.deleted_at = timezone.now()
        plan.version += 1
        plan.save()
        write_recorded(
            actor=actor,
            action="plan.delete",
            object_type="plan",
            object_id=plan.pk,
            object_repr=plan.name,
            reseller_id=plan.reseller_id,
            old={"deleted": False, "company_ids": company_ids},
            new={"deleted": True, "company_ids": []},
        )
        announce.plan_delete_announce(plan, company_ids)
    return plan


def plan_restore(*, actor: Actor, plan_id: int, new_name: str | None = None) -> Plan:
    """Make a deleted plan available again. Nobody is re-assigned. A name now taken by a
    live plan is a Conflict that suggests a free name."""
    with transaction.atomic():
        plan = plan_get_for_actor(actor, plan_id)
        actor.require_write(plan.reseller_id)
        require_plans_feature(actor, plan.reseller)
        plan = Plan.objects.select_for_update(of=("self",)).get(pk=plan.pk)
        if not plan.deleted:
            raise Conflict("This plan is not deleted.", code="not_deleted")
        name = (
            plan.name
            if new_name is None
            else clean_str(new_name, "name", max_length=PLAN_NAME_MAX_LENGTH)
        )
        _ensure_name_free(plan.reseller_id, name)
        old = {
            "deleted": True,
            "name": plan.name,
            "enabled": plan.enabled,
            "archived": plan.archived,
        }
        plan.name = name
        plan.deleted_at = None
        # Restored means assignable again (SPEC §4): enabled and not archived.
        plan.enabled = True
        plan.archived_at = None
        plan.version += 1
        plan.save()
        write_recorded(
            actor=actor,
            action="plan.restore",
            object_type="plan",
            object_id=plan.pk,
            object_repr=plan.name,
            reseller_id=plan.reseller_id,
            old=old,
            new={"deleted": False, "name": name, "enabled": True, "archived": False},
        )
        announce.plan_announce("plan.restore", plan)
    return plan
