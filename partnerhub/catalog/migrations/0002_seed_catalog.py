"""Seed the catalog every installation starts with (SPEC §2)."""

from django.db import migrations

FEATURES = [("plans", "Plans", "Switches the Plans section on for a reseller.")]
LIMITS = [
    ("messages", "Messages", "messages", "month",
     "Number of messages allowed across all channels (excluding WhatsApp)"),
    ("whatsapp_conversations", "WhatsApp Conversations", "conversations", "month",
     "Monthly WhatsApp conversation limit included in the plan"),
    ("team_members", "Team Members", "members", "none",
     "Number of team members allowed to access the account"),
    ("event_timeslots", "Event Timeslots", "timeslots", "none",
     "Maximum number of timeslots a company can create per event"),
]
FEE_TYPES = [("ticket", "Ticket"), ("product", "Product"), ("donation", "Donation")]
CURRENCIES = [
    ("INR", "Indian Rupee"), ("GBP", "Pound Sterling"), ("USD", "US Dollar"), ("EUR", "Euro"),
    ("AUD", "Australian Dollar"), ("CAD", "Canadian Dollar"), ("SGD", "Singapore Dollar"),
    ("AED", "UAE Dirham"), ("NZD", "New Zealand Dollar"), ("ZAR", "Rand"), ("JPY", "Yen"),
    ("KWD", "Kuwaiti Dinar"),
]


def seed(apps, schema_editor):
    Feature = apps.get_model("catalog", "Feature")
    Limit = apps.get_model("catalog", "Limit")
    FeeType = apps.get_model("catalog", "FeeType")
    Currency = apps.get_model("catalog", "Currency")
    TaxSettings = apps.get_model("catalog", "TaxSettings")
    for key, name, description in FEATURES:
        Feature.objects.get_or_create(key=key, defaults={"name": name, "description": description})
    for key, name, unit, period, description in LIMITS:
        Limit.objects.get_or_create(
            key=key,
            defaults={"name": name, "unit": unit, "period": period, "description": description},
        )
    for key, name in FEE_TYPES:
        FeeType.objects.get_or_create(key=key, defaults={"name": name})
    for code, name in CURRENCIES:
        Currency.objects.get_or_create(code=code, defaults={"name": name})
    TaxSettings.objects.get_or_create(pk=1, defaults={"gst_rate_bps": 1800})


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
