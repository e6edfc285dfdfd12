"""The audit log as sentences (issue #13): "northwind-admin changed the monthly GBP price of
Starter from 12.00 to 15.00". Money in currency format, percentages in percent, ids as
names with links. The stored rows (and the API) keep their machine shape; this reads them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import NoReverseMatch, reverse

from partnerhub.core.money import bps_to_percent_str, minor_to_major_str

_VERBS = {
    "create": "created",
    "update": "changed",
    "archive": "archived",
    "unarchive": "unarchived",
    "delete": "deleted",
    "restore": "restored",
    "duplicate": "created by duplicating",
    "revoke": "revoked",
    "set": "set",
    "recover": "recovered",
    "rotate_secret": "rotated the secret of",
    "test": "sent a test to",
    "resend": "resent",
    "resend_failed": "resent the failed deliveries of",
}
_NOUNS = {
    "sale_item": "sale item",
    "api_key": "API key",
    "gateway_fees": "gateway fees",
    "tax": "GST rate",
    "fee_type": "fee type",
    "webhook_endpoint": "webhook endpoint",
    "webhook_delivery": "webhook delivery",
    "job": "recalculation job",
}
# Every audit action the code writes, as a sentence ("{name}" is the object's name). A
# test scans the code for written actions and fails when one is missing here, so a new
# action never reads "<verb> the <object> <name>" again. An update (and a `set` that
# records what changed) reads as its changes instead, when it has any.
ACTION_SENTENCES: dict[str, str] = {
    "api_key.create": "created the API key {name}",
    "api_key.revoke": "revoked the API key {name}",
    "company.create": "created the company {name}",
    "company.update": "changed the company {name}",
    "currency.create": "added the currency {name}",
    "feature.create": "added the feature {name} to the catalog",
    "feature.update": "changed the feature {name}",
    "fee_type.create": "added the fee type {name} to the catalog",
    "gateway_fees.set": "changed the gateway fees",
    "close_job.start": "started the close of {name}",
    "close_job.queued": "queued the close of {name}",
    "close_job.running": "began the close of {name}",
    "close_job.succeeded": "finished the close of {name}",
    "close_job.failed": "could not finish the close of {name}",
    "close_job.recover": "restarted an interrupted close of {name}",
    "job.enqueue": "queued a recalculation of {name}",
    "job.queued": "queued a recalculation of {name}",
    "job.running": "started a recalculation of {name}",
    "job.succeeded": "finished a recalculation of {name}",
    "job.failed": "could not finish a recalculation of {name}",
    "job.recover": "restarted an interrupted recalculation of {name}",
    "limit.create": "added the limit {name} to the catalog",
    "plan.archive": "archived the plan {name}",
    "plan.unarchive": "brought back the archived plan {name}",
    "plan.create": "created the plan {name}",
    "plan.update": "changed the plan {name}",
    "plan.delete": "deleted the plan {name}",
    "plan.duplicate": "created the plan {name} as a copy of another plan",
    "plan.restore": "restored the deleted plan {name}",
    "plan.set_visible": "changed whether the plan {name} is offered at registration",
    "plan.set_enabled": "changed whether the plan {name} can be assigned",
    "reseller.create": "created the reseller {name}",
    "reseller.update": "changed the reseller {name}",
    "sale_item.create": "created the sale item {name}",
    "sale_item.update": "changed the sale item {name}",
    "seed.create": "filled {name} with demo plans and companies",
    "seed.sales": "added {name} of synthetic sales",
    "tax.set": "changed the GST rate",
    "sales.record": "recorded {name}",
    "usage.events_record": "recorded {name} of usage",
    "usage.events_purge": "removed {name} of old usage",
    "usage.gauge_set": "set the current usage of {name}",
    "user.create": "created the user {name}",
    "webhook_delivery.resend": "resent the webhook delivery {name}",
    "webhook_endpoint.create": "added the webhook endpoint {name}",
    "webhook_endpoint.update": "changed the webhook endpoint {name}",
    "webhook_endpoint.delete": "removed the webhook endpoint {name}",
    "webhook_endpoint.rotate_secret": "rotated the signing secret of the webhook endpoint {name}",
    "webhook_endpoint.test": "sent a test event to the webhook endpoint {name}",
    "webhook_endpoint.resend_failed": "resent the failed deliveries of the webhook endpoint {name}",
}
# A switch reads as what it was switched to.
_SWITCHES: dict[str, tuple[str, str]] = {
    "plan.set_visible": ("made the plan {name} visible", "hid the plan {name}"),
    "plan.set_enabled": ("enabled the plan {name}", "disabled the plan {name}"),
}

_LINKS = {
    "plan": "plans:edit",
    "company": "companies:edit",
    "reseller": "resellers:edit",
    "job": "fees:job_detail",
}
_FIELD_NAMES = {
    "display_name": "display name",
    "revenue_share_bps": "revenue share",
    "gst_enabled": "GST",
    "billing_cycles": "billing cycles",
    "plan_id": "plan",
    "use_plan_fees": "use of plan fees",
    "gst_rate_bps": "GST rate",
    "default_registration_plan_id": "default registration plan",
    "registration_plan_choice": "plan choice on the registration form",
    "direct_features": "features",
    "excluded_features": "removed plan features",
    "limit_overrides": "limit overrides",
    "contact_email": "contact email",
}


@dataclass(frozen=True)
class AuditLine:
    actor: str
    sentences: list[str]
    object_name: str
    object_url: str | None


def actor_name(label: str, role: str) -> str:
    """ "user:northwind-admin" -> "northwind-admin"; an API key reads "API key ab12…"."""
    if label.startswith("user:"):
        return label[5:]
    if label.startswith("key:"):
        return f"API key {label[4:]}…"
    return label or role


PLAN_ID_FIELDS = ("plan_id", "default_registration_plan_id")


def plan_ids_in(events: list[Any]) -> set[int]:
    """The plan ids the page's rows mention, to name them with one query."""
    ids: set[int] = set()
    for event in events:
        changes = event.changes if isinstance(event.changes, dict) else {}
        for field in PLAN_ID_FIELDS:
            change = changes.get(field)
            if isinstance(change, dict):
                ids.update(v for v in (change.get("old"), change.get("new")) if isinstance(v, int))
    return ids


def audit_line(event: Any, plan_names: dict[int, str] | None = None) -> AuditLine:
    noun = _NOUNS.get(event.object_type, event.object_type.replace("_", " "))
    name = event.object_repr or (f"#{event.object_id}" if event.object_id else "")
    verb_key = event.action.split(".", 1)[-1]
    changes = event.changes if isinstance(event.changes, dict) else {}
    names = plan_names or {}
    sentences: list[str] = []
    if verb_key == "update" and changes:
        sentences = [s for f, c in changes.items() for s in _changed(f, c, name, names)]
    elif verb_key == "set" and changes:  # platform settings: "changed the GST rate from …"
        sentences = [s for f, c in changes.items() for s in _changed(f, c, "", names)]
    elif event.action in _SWITCHES and len(changes) == 1:
        (change,) = changes.values()
        new = change.get("new") if isinstance(change, dict) else None
        if isinstance(new, bool):
            sentences = [_SWITCHES[event.action][0 if new else 1].format(name=name)]
    if not sentences:
        template = ACTION_SENTENCES.get(event.action)
        if template is not None:
            sentences = [" ".join(template.format(name=name).split())]
        else:  # an action written by older code: its verb and object
            verb = _VERBS.get(verb_key, verb_key.replace("_", " "))
            sentences = [f"{verb} the {noun} {name}".rstrip()]
    return AuditLine(
        actor=actor_name(event.actor_label, event.actor_role),
        sentences=sentences,
        object_name=name,
        object_url=_url(event.object_type, event.object_id),
    )


def _url(object_type: str, object_id: int | None) -> str | None:
    if object_id is None or object_type not in _LINKS:
        return None
    try:
        return reverse(_LINKS[object_type], args=[object_id])
    except NoReverseMatch:
        return None


def _changed(field: str, change: Any, of: str, plan_names: dict[int, str]) -> list[str]:
    """The sentences of one changed field of `of` (empty for a platform setting)."""
    of = f" of {of}" if of else ""
    old, new = (change.get("old"), change.get("new")) if isinstance(change, dict) else (None, None)
    if field in PLAN_ID_FIELDS:  # plans by name; none is "Custom"
        label = _FIELD_NAMES[field]
        was, now = (_plan_name(v, plan_names) for v in (old, new))
        return [f"changed the {label}{of} from {was} to {now}"]
    if field == "prices" and isinstance(old, list | None) and isinstance(new, list | None):
        return _price_changes(old or [], new or [], of)
    if field in ("fees", "blended", "entries"):
        return [f"changed the {'gateway fees' if field == 'entries' else 'fees'}{of}"]
    if field == "limits" and isinstance(old, dict | None) and isinstance(new, dict | None):
        return _limit_changes(old or {}, new or {}, of)
    label = _FIELD_NAMES.get(field, field.replace("_", " "))
    return [f"changed the {label}{of} from {_value(field, old)} to {_value(field, new)}"]


def _plan_name(plan_id: Any, plan_names: dict[int, str]) -> str:
    if plan_id is None:
        return "Custom"
    return plan_names.get(plan_id, f"plan #{plan_id}") if isinstance(plan_id, int) else "—"


def _price_changes(old: list[Any], new: list[Any], of: str) -> list[str]:
    def by_key(rows: list[Any]) -> dict[tuple[str, str], int]:
        return {(r["currency"], r["billing_cycle"]): r["amount_minor"] for r in rows}

    before, after = by_key(old), by_key(new)
    lines = []
    for currency, cycle in sorted(set(before) | set(after)):
        was, now = before.get((currency, cycle)), after.get((currency, cycle))
        if was == now:
            continue
        what = f"the {cycle} {currency} price{of}"
        if was is None:
            lines.append(f"set {what} to {minor_to_major_str(now, currency)}")
        elif now is None:
            lines.append(f"removed {what} ({minor_to_major_str(was, currency)})")
        else:
            was_text, now_text = (
                minor_to_major_str(was, currency),
                minor_to_major_str(now, currency),
            )
            lines.append(f"changed {what} from {was_text} to {now_text}")
    return lines


def _limit_changes(old: dict[str, Any], new: dict[str, Any], of: str) -> list[str]:
    def shown(value: Any) -> str:
        return "unlimited" if value is None else f"{value:,}" if isinstance(value, int) else "—"

    return [
        f"changed the {key.replace('_', ' ')} limit{of} from "
        f"{shown(old.get(key))} to {shown(new.get(key))}"
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]


def _value(field: str, value: Any) -> str:
    if value is None or value == "" or value == []:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if field.endswith("_bps") and isinstance(value, int):
        return f"{bps_to_percent_str(value)} %"
    if field.endswith("_minor") and isinstance(value, int):
        text: str = minor_to_major_str(value, "")  # the row names no currency: two decimals
        return text
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)[:120]
    return str(value)[:120]
