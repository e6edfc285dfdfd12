"""Subscription terms on companies (SPEC §13): billing cycle, currency and anchor."""

from django.db import migrations, models

CYCLE_ORDER = ["monthly", "quarterly", "yearly"]


def backfill(apps, schema_editor):
    Company = apps.get_model("companies", "Company")
    PlanPrice = apps.get_model("plans", "PlanPrice")
    for company in Company.objects.select_related("plan").iterator():
        company.billing_anchor = company.created_at.date()
        if company.plan_id is not None:
            cycles = [c for c in CYCLE_ORDER if c in company.plan.billing_cycles]
            company.billing_cycle = cycles[0] if cycles else "monthly"
            codes = sorted(
                set(PlanPrice.objects.filter(plan_id=company.plan_id).values_list("currency", flat=True))
            )
            company.billing_currency = codes[0] if codes else ""
        company.save(update_fields=["billing_anchor", "billing_cycle", "billing_currency"])


class Migration(migrations.Migration):
    dependencies = [("companies", "0003_initial"), ("plans", "0002_initial")]
    operations = [
        migrations.AddField(
            model_name="company",
            name="billing_cycle",
            field=models.CharField(default="monthly", max_length=10),
        ),
        migrations.AddField(
            model_name="company",
            name="billing_currency",
            field=models.CharField(blank=True, default="", max_length=3),
        ),
        migrations.AddField(
            model_name="company",
            name="billing_anchor",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
