"""A plan holds a value for every catalog limit (SPEC §4): a limit a plan never set
(created through the API, which stored nothing) is unlimited, stored as null, the same
as a blank limit saved by the hub."""

from typing import Any

from django.db import migrations


def fill_limits(apps: Any, schema_editor: Any) -> None:
    Plan = apps.get_model("plans", "Plan")
    Limit = apps.get_model("catalog", "Limit")
    keys = list(Limit.objects.values_list("key", flat=True))
    for plan in Plan.objects.only("id", "limits").iterator():
        missing = [key for key in keys if key not in plan.limits]
        if missing:
            plan.limits = {**plan.limits, **dict.fromkeys(missing)}
            plan.save(update_fields=["limits"])


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0002_seed_catalog"),
        ("plans", "0003_plan_name_ci_unique"),
    ]

    operations = [migrations.RunPython(fill_limits, migrations.RunPython.noop)]
