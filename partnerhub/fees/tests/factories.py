"""Test helpers for fee schedules and gateway fees, written straight to the database."""

from __future__ import annotations

from partnerhub.catalog.models import GatewayFee
from partnerhub.fees.models import FeeScheduleEntry


def add_fee(
    schedule_id: int,
    currency: str = "GBP",
    fee_type: str = "ticket",
    percent_bps: int = 250,
    fixed_minor: int = 30,
    min_minor: int | None = None,
    max_minor: int | None = None,
    blended: bool = False,
) -> FeeScheduleEntry:
    entry, _ = FeeScheduleEntry.objects.update_or_create(
        schedule_id=schedule_id,
        currency_id=currency,
        fee_type_id=fee_type,
        defaults={
            "percent_bps": percent_bps,
            "fixed_minor": fixed_minor,
            "min_minor": min_minor,
            "max_minor": max_minor,
            "blended": blended,
        },
    )
    return entry


def set_gateway_fee(currency: str = "GBP", percent_bps: int = 200, fixed_minor: int = 8) -> None:
    GatewayFee.objects.update_or_create(
        currency_id=currency, defaults={"percent_bps": percent_bps, "fixed_minor": fixed_minor}
    )
