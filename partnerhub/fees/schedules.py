"""Reading, validating and replacing fee schedules (shared by resellers, plans, companies)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from partnerhub.catalog.models import Currency, FeeType
from partnerhub.core.errors import ValidationFailed
from partnerhub.core.limits import MAX_PRICE_MINOR
from partnerhub.fees.models import FeeSchedule, FeeScheduleEntry

ENTRY_FIELDS = ("currency", "fee_type", "percent_bps", "fixed_minor", "min_minor", "max_minor")
# percent_bps above 100 % is a typo, never a fee.
MAX_PERCENT_BPS = 10_000
# Fee amounts share the price ceiling, so fee arithmetic stays within 64-bit integers.
MAX_AMOUNT_MINOR = MAX_PRICE_MINOR  # minor units


@dataclass(frozen=True, slots=True)
class FeeEntryData:
    currency: str
    fee_type: str
    percent_bps: int
    fixed_minor: int  # minor units
    min_minor: int | None = None  # minor units
    max_minor: int | None = None  # minor units

    def as_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in ENTRY_FIELDS}


@dataclass(frozen=True, slots=True)
class ScheduleSnapshot:
    """A schedule's content, comparable by value: (entries sorted, blended per currency)."""

    entries: tuple[FeeEntryData, ...]
    blended: tuple[tuple[str, bool], ...]

    def entries_as_dicts(self) -> list[dict[str, Any]]:
        return [e.as_dict() for e in self.entries]

    def blended_dict(self) -> dict[str, bool]:
        return dict(self.blended)

    def as_audit(self) -> dict[str, Any]:
        return {"fees": self.entries_as_dicts(), "blended": self.blended_dict()}


def snapshot_from_entries(entries: Iterable[FeeScheduleEntry]) -> ScheduleSnapshot:
    rows = sorted(entries, key=lambda e: (e.currency_id, e.fee_type_id))
    data = tuple(
        FeeEntryData(
            e.currency_id, e.fee_type_id, e.percent_bps, e.fixed_minor, e.min_minor, e.max_minor
        )
        for e in rows
    )
    blended = tuple(sorted({e.currency_id: e.blended for e in rows}.items()))
    return ScheduleSnapshot(data, blended)


def schedule_snapshot(schedule_id: int) -> ScheduleSnapshot:
    return snapshot_from_entries(FeeScheduleEntry.objects.filter(schedule_id=schedule_id))


def blended_changed_currencies(before: ScheduleSnapshot, after: ScheduleSnapshot) -> set[str]:
    """Currencies whose blended presentation differs (a currency that appears or goes counts
    only if it was or becomes blended)."""
    old, new = before.blended_dict(), after.blended_dict()
    return {c for c in set(old) | set(new) if old.get(c, False) != new.get(c, False)}


def _int_field(raw: Mapping[str, Any], name: str, where: str, *, required: bool) -> int | None:
    value = raw.get(name)
    if value is None:
        if required:
            raise ValidationFailed.field(where, f"{name} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed.field(where, f"{name} must be an integer (minor units)")
    if value < 0:
        raise ValidationFailed.field(where, f"{name} must not be negative")
    if value > MAX_AMOUNT_MINOR:
        raise ValidationFailed.field(where, f"{name} must be at most {MAX_AMOUNT_MINOR}")
    return value


def parse_fee_entries(
    raw_entries: Iterable[Mapping[str, Any]],
    raw_blended: Mapping[str, Any] | None,
    *,
    field: str = "fees",
) -> ScheduleSnapshot:
    """Validate client input into a snapshot; raises ValidationFailed naming the entry."""
    currencies = set(Currency.objects.values_list("code", flat=True))
    fee_types = set(FeeType.objects.values_list("key", flat=True))
    seen: set[tuple[str, str]] = set()
    entries: list[FeeEntryData] = []
    for i, raw in enumerate(raw_entries):
        where = f"{field}[{i}]"
        unknown = set(raw) - set(ENTRY_FIELDS)
        if unknown:
            raise ValidationFailed.field(where, f"unknown field(s): {', '.join(sorted(unknown))}")
        currency = str(raw.get("currency") or "").upper()
        fee_type = str(raw.get("fee_type") or "")
        if currency not in currencies:
            raise ValidationFailed.field(where, f"unknown currency {currency!r}")
        if fee_type not in fee_types:
            raise ValidationFailed.field(where, f"unknown fee type {fee_type!r}")
        if (currency, fee_type) in seen:
            raise ValidationFailed.field(where, f"{currency}/{fee_type} is listed twice")
        seen.add((currency, fee_type))
        percent = _int_field(raw, "percent_bps", where, required=True)
        assert percent is not None
        if percent > MAX_PERCENT_BPS:
            raise ValidationFailed.field(where, "percent_bps must be at most 10000 (100 %)")
        fixed = _int_field(raw, "fixed_minor", where, required=False) or 0
        lo = _int_field(raw, "min_minor", where, required=False)
        hi = _int_field(raw, "max_minor", where, required=False)
        if lo is not None and hi is not None and lo > hi:
            raise ValidationFailed.field(where, "min_minor must not exceed max_minor")
        entries.append(FeeEntryData(currency, fee_type, percent, fixed, lo, hi))
    entries.sort(key=lambda e: (e.currency, e.fee_type))
    with_fees = {e.currency for e in entries}
    blended: dict[str, bool] = {c: False for c in with_fees}
    for code, flag in (raw_blended or {}).items():
        code_u = str(code).upper()
        if not isinstance(flag, bool):
            raise ValidationFailed.field(f"blended.{code}", "must be true or false")
        if code_u not in with_fees:
            if flag:
                raise ValidationFailed.field(
                    f"blended.{code}", f"no fees are configured for {code_u}"
                )
            continue
        blended[code_u] = flag
    return ScheduleSnapshot(tuple(entries), tuple(sorted(blended.items())))


def fee_schedule_replace(*, schedule_id: int, snapshot: ScheduleSnapshot) -> None:
    """Make the schedule hold exactly `snapshot`. Call inside the owning service's transaction."""
    blended = snapshot.blended_dict()
    rows = [
        FeeScheduleEntry(
            schedule_id=schedule_id,
            currency_id=e.currency,
            fee_type_id=e.fee_type,
            percent_bps=e.percent_bps,
            fixed_minor=e.fixed_minor,
            min_minor=e.min_minor,
            max_minor=e.max_minor,
            blended=blended.get(e.currency, False),
        )
        for e in snapshot.entries
    ]
    stored = FeeScheduleEntry.objects.filter(schedule_id=schedule_id)
    if {_row_key(r) for r in stored} == {_row_key(r) for r in rows} and len(stored) == len(rows):
        return  # already holds exactly this: a save that changes nothing writes nothing
    stored.delete()
    FeeScheduleEntry.objects.bulk_create(rows)


def _row_key(row: FeeScheduleEntry) -> tuple[Any, ...]:
    return (
        row.currency_id,
        row.fee_type_id,
        row.percent_bps,
        row.fixed_minor,
        row.min_minor,
        row.max_minor,
        row.blended,
    )


def fee_schedule_create(snapshot: ScheduleSnapshot | None = None) -> FeeSchedule:
    schedule = FeeSchedule.objects.create()
    if snapshot is not None:
        fee_schedule_replace(schedule_id=schedule.pk, snapshot=snapshot)
    return schedule


EMPTY_SCHEDULE = ScheduleSnapshot((), ())
