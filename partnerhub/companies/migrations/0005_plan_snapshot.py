"""Copy-on-write plan delete: the deleted plan's frozen configuration its companies share."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0003_limit_kind'),
        ('companies', '0004_company_subscription_terms'),
        ('fees', '0006_recalcjob_scope_item_counts'),
        ('plans', '0004_plan_limits_every_catalog_limit'),
    ]

    operations = [
        migrations.AddField(
            model_name='company',
            name='snapshot_fee_schedule',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='fees.feeschedule'),
        ),
        migrations.CreateModel(
            name='PlanSnapshot',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('limits', models.JSONField(default=dict)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('features', models.ManyToManyField(blank=True, related_name='+', to='catalog.feature')),
                ('fee_schedule', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='plan_snapshot', to='fees.feeschedule')),
                ('plan', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='plans.plan')),
            ],
        ),
        migrations.AddField(
            model_name='company',
            name='plan_snapshot',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='companies.plansnapshot'),
        ),
    ]
