"""Request payloads shared by tests of every tier (services, API, end to end)."""

from __future__ import annotations

from typing import Any

GBP_TICKET: dict[str, Any] = {
    "currency": "GBP",
    "fee_type": "ticket",
    "percent_bps": 250,
    "fixed_minor": 30,
}


def plan_data(**overrides: Any) -> dict[str, Any]:
    """A complete usage-based plan in the SPEC §12 shape (the spec's own example values)."""
    data: dict[str, Any] = {
        "plan_type": "usage_based",
        "name": "silver",
        "display_name": "Silver",
        "billing_cycles": ["monthly", "yearly"],
        "prices": [
            {"currency": "INR", "billing_cycle": "monthly", "amount_minor": 99900},
            {"currency": "INR", "billing_cycle": "yearly", "amount_minor": 999900},
        ],
        "gst_enabled": True,
        "limits": {
            "messages": 10000,
            "whatsapp_conversations": 1000,
            "team_members": 5,
            "event_timeslots": None,
        },
        "features": ["plans", "seating", "vouchers"],
        "fees": [dict(GBP_TICKET)],
        "blended": {"GBP": False},
    }
    data.update(overrides)
    return data
