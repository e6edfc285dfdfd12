"""Limits gain a kind (SPEC §13): what Partnerhub counts against them."""

from django.db import migrations, models

SEEDED_KINDS = {
    "messages": "metered",
    "whatsapp_conversations": "metered",
    "team_members": "gauge",
    "event_timeslots": "cap",
}


def set_kinds(apps, schema_editor):
    Limit = apps.get_model("catalog", "Limit")
    for key, kind in SEEDED_KINDS.items():
        Limit.objects.filter(key=key).update(kind=kind)
    # Limits added since: monthly ones count per period, the others are current counts.
    Limit.objects.exclude(key__in=SEEDED_KINDS).filter(period="none").update(kind="gauge")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_seed_catalog")]
    operations = [
        migrations.AddField(
            model_name="limit",
            name="kind",
            field=models.CharField(
                choices=[
                    ("metered", "Metered (per usage period)"),
                    ("gauge", "Gauge (a current count)"),
                    ("cap", "Cap (checked on demand)"),
                ],
                default="metered",
                max_length=8,
            ),
        ),
        migrations.RunPython(set_kinds, migrations.RunPython.noop),
    ]
