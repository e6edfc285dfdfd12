"""Writes on sales (SPEC §15): record sold quantities of sale items, what the statements'
fee lines are charged on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from partnerhub.audit.services import audit_record
from partnerhub.core.actor import Actor
from partnerhub.core.errors import ValidationFailed
from partnerhub.core.schemas import MAX_DB_INT
from partnerhub.sales.cutoffs import cutoffs_lock
from partnerhub.sales.ingest import (
    SaleItemRow,
    SaleKey,
    SaleRow,
    sale_items_visible,
    sales_insert_new,
    sales_stored,
)
from partnerhub.sales.models import MAX_SALE_QUANTITY, SALE_ID_MAX_LENGTH

MAX_BATCH = 1000
FUTURE_TOLERANCE = timedelta(minutes=5)  # the host's clock may run a little ahead
# The oldest sale taken: as long as raw usage events are kept (PARTNERHUB_USAGE_RETENTION_DAYS'
# default). An older sale is a client's bug, not a late sale; a sale of a period already
# closed, within the bound, is recorded and booked late (`Sale.late_into`).
MAX_AGE_DAYS = 400
# A sale's amount (quantity x the larger of its unit price and unit fees) stays within
# 10^15 minor units, so a statement's sums of a million such sales fit a 64-bit integer
# on SQLite too (PostgreSQL sums bigints as numeric anyway).
MAX_SALE_AMOUNT_MINOR = 10**15  # minor units


@dataclass(frozen=True, slots=True)
class SalesResult:
    accepted: int
    duplicates: int


@dataclass(frozen=True, slots=True)
class SaleInput:
    """One sale of a batch, its types already checked (by the API's schema, or by
    `_parse_sale` for a caller passing plain dicts): the service parses a batch once."""

    index: int
    sale_id: str
    sale_item_id: int
    quantity: int
    timestamp: datetime  # aware

    def content(self) -> tuple[int, int, datetime]:
        """What a repeated id must carry to be a duplicate rather than a conflict."""
        return (self.sale_item_id, self.quantity, self.timestamp)


def _field_error(
    index: int, field: str, message: str, *, code: str | None = None
) -> ValidationFailed:
    name = f"sales[{index}].{field}"
    return ValidationFailed(f"{name}: {message}", details={name: [message]}, code=code)


# --- parsing plain dicts (callers other than the API) --------------------------------------


def _parse_sale(index: int, raw: Any) -> SaleInput:
    if not isinstance(raw, Mapping):
        raise ValidationFailed.field(f"sales[{index}]", "must be an object")
    unknown = sorted(str(k) for k in set(raw) - {"id", "sale_item_id", "quantity", "timestamp"})
    if unknown:
        raise _field_error(index, unknown[0], "unknown field")
    sale_id = raw.get("id")
    if (
        not isinstance(sale_id, str)
        or not 1 <= len(sale_id) <= SALE_ID_MAX_LENGTH
        or "\x00" in sale_id
    ):
        raise _field_error(index, "id", f"must be a string of 1 to {SALE_ID_MAX_LENGTH} chars")
    item_id, quantity = raw.get("sale_item_id"), raw.get("quantity")
    if isinstance(item_id, bool) or not isinstance(item_id, int) or not 1 <= item_id <= MAX_DB_INT:
        raise _field_error(index, "sale_item_id", "must be a sale item's id")
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise _field_error(index, "quantity", "must be an integer")
    timestamp = raw.get("timestamp")
    if isinstance(timestamp, str):
        try:
            timestamp = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
        except ValueError:
            raise _field_error(index, "timestamp", "must be an ISO 8601 time") from None
    if not isinstance(timestamp, datetime) or timestamp.tzinfo is None:
        raise _field_error(index, "timestamp", "must be an ISO 8601 time with a UTC offset")
    return SaleInput(index, sale_id, item_id, quantity, timestamp)


def _parse_batch(raw_sales: Any) -> list[SaleInput]:
    if not isinstance(raw_sales, list) or not 1 <= len(raw_sales) <= MAX_BATCH:
        raise ValidationFailed.field("sales", f"must hold 1 to {MAX_BATCH} sales")
    return [_parse_sale(index, raw) for index, raw in enumerate(raw_sales)]


# --- the checks only the database and the clock can make -----------------------------------


class _Window:
    """The times a sale may carry: not more than 5 minutes ahead of our clock, not more
    than MAX_AGE_DAYS behind it."""

    def __init__(self, now: datetime) -> None:
        self.latest = now + FUTURE_TOLERANCE
        self.earliest = now - timedelta(days=MAX_AGE_DAYS)

    def utc(self, sale: SaleInput) -> datetime:
        try:
            timestamp = sale.timestamp.astimezone(UTC)
        except OverflowError:  # year 1 or 9999 with an offset: no UTC time exists
            raise _field_error(sale.index, "timestamp", "is out of range") from None
        if timestamp > self.latest:
            raise _field_error(sale.index, "timestamp", "is in the future")
        if timestamp < self.earliest:
            raise _field_error(sale.index, "timestamp", f"is more than {MAX_AGE_DAYS} days old")
        return timestamp


def _check_quantity(sale: SaleInput, item: SaleItemRow) -> None:
    if not 1 <= sale.quantity <= MAX_SALE_QUANTITY:
        raise _field_error(sale.index, "quantity", f"must be 1 to {MAX_SALE_QUANTITY}")
    unit = max(item.price_minor, item.reseller_fee_minor + item.gateway_fee_minor)
    if sale.quantity * unit > MAX_SALE_AMOUNT_MINOR:
        raise _field_error(
            sale.index,
            "quantity",
            f"makes the sale's amount exceed {MAX_SALE_AMOUNT_MINOR} minor units",
        )


@dataclass(frozen=True, slots=True)
class _Checked:
    sale: SaleInput
    item: SaleItemRow
    timestamp: datetime  # UTC

    @property
    def key(self) -> SaleKey:
        return (self.item.reseller_id, self.sale.sale_id)


def _checked(actor: Actor, sales: Sequence[SaleInput], now: datetime) -> list[_Checked]:
    items = sale_items_visible(actor, {s.sale_item_id for s in sales})
    window = _Window(now)
    checked = []
    for sale in sales:
        item = items.get(sale.sale_item_id)
        if item is None:  # another reseller's item is reported exactly like a missing one
            raise _field_error(sale.index, "sale_item_id", "no such sale item")
        _check_quantity(sale, item)
        checked.append(_Checked(sale, item, window.utc(sale)))
    return checked


def _distinct(checked: list[_Checked]) -> list[_Checked]:
    """The distinct sales of a batch (ids are unique per reseller): a repeat with the same
    content is a duplicate, with other content a 422 naming both indexes."""
    seen: dict[SaleKey, _Checked] = {}
    for one in checked:
        earlier = seen.setdefault(one.key, one)
        if earlier is not one and (earlier.item.id, earlier.sale.quantity, earlier.timestamp) != (
            one.item.id,
            one.sale.quantity,
            one.timestamp,
        ):
            raise _field_error(
                one.sale.index, "id", f"repeats sales[{earlier.sale.index}].id with other content"
            )
    return list(seen.values())


def _row(one: _Checked, late_into: Any) -> SaleRow:
    item = one.item
    return SaleRow(
        reseller_id=item.reseller_id,
        sale_id=one.sale.sale_id,
        company_id=item.company_id,
        sale_item_id=item.id,
        currency=item.currency,
        fee_type=item.fee_type,
        quantity=one.sale.quantity,
        price_minor=item.price_minor,
        reseller_fee_minor=item.reseller_fee_minor,
        gateway_fee_minor=item.gateway_fee_minor,
        blended=item.blended,
        timestamp=one.timestamp,
        late_into=late_into,
    )


def _rows(distinct: list[_Checked]) -> list[SaleRow]:
    """The rows to insert, late ones marked. Runs inside the transaction: the cutoffs
    read here stay as they are (locked FOR SHARE) until the sales are committed."""
    cutoffs = cutoffs_lock({one.item.company_id for one in distinct})
    rows = []
    for one in distinct:
        closed_until = cutoffs.get(one.item.company_id)
        late = closed_until is not None and one.timestamp.date() < closed_until
        rows.append(_row(one, closed_until if late else None))
    return rows


def _check_stored(distinct: list[_Checked], inserted: set[SaleKey]) -> None:
    """An id already stored must carry the same content, else the batch is refused: a 422
    with code `conflict` naming the index (SPEC §15), and nothing of the batch is kept."""
    others = [one for one in distinct if one.key not in inserted]
    stored = sales_stored([one.key for one in others])
    for one in others:
        if stored.get(one.key) != (one.item.id, one.sale.quantity, one.timestamp):
            raise _field_error(
                one.sale.index, "id", "was already recorded with other content", code="conflict"
            )


# --- the services ---------------------------------------------------------------------------


def sales_record(*, actor: Actor, sales: Any, now: datetime | None = None) -> SalesResult:
    """Record sales given as plain dicts (the shape of `POST /sales`): 1 to 1000, all or
    nothing, each id counted once per reseller (SPEC §15)."""
    actor.require_write()
    return sales_record_parsed(actor=actor, sales=_parse_batch(sales), now=now)


def sales_record_parsed(
    *, actor: Actor, sales: Sequence[SaleInput], now: datetime | None = None
) -> SalesResult:
    """`sales_record` for sales whose types are already checked (the API's schema parsed
    them). Each sale copies its item's price and stored fees as they are now: a later
    recalculation rewrites the item, never a recorded sale. Set-based: one read of the
    batch's items, one of its companies' cutoffs, one multi-row INSERT … ON CONFLICT, and
    one read of the ids that were already stored."""
    actor.require_write()
    if not 1 <= len(sales) <= MAX_BATCH:
        raise ValidationFailed.field("sales", f"must hold 1 to {MAX_BATCH} sales")
    now = now or timezone.now()
    checked = _checked(actor, sales, now)
    distinct = _distinct(checked)
    with transaction.atomic():
        inserted = sales_insert_new(_rows(distinct), now)
        _check_stored(distinct, inserted)
        for reseller_id in sorted({key[0] for key in inserted}):
            ids = sorted(sale_id for r, sale_id in inserted if r == reseller_id)
            # A retry that records nothing writes no audit row: nothing changed.
            audit_record(
                actor=actor,
                action="sales.record",
                object_type="sales",
                object_id=None,
                object_repr=f"{len(ids)} sale(s)",
                reseller_id=reseller_id,
                changes={"accepted": len(ids), "first_id": ids[:1], "last_id": ids[-1:]},
            )
    return SalesResult(accepted=len(inserted), duplicates=len(sales) - len(inserted))
