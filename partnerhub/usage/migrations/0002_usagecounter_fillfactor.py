"""Usage counter pages half empty on PostgreSQL, so a consume is a HOT update.

Every consume rewrites its counter row. On a full page the new version goes to another
page, and all three indexes of the table get a new entry: measured on the benchmark's
database, 51 % of counter updates were HOT (65,128 of 126,737). With half of each page
free, the new version fits beside the old one, no index is touched, and pruning frees
the dead versions as the page is read. Only pages written after this migration are
affected; `VACUUM FULL usage_usagecounter` rewrites the existing ones (the table holds
one row per company, limit and period, so it is small).
"""

from django.db import migrations


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE usage_usagecounter SET (fillfactor = 50)")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE usage_usagecounter RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("usage", "0001_usage_events_counters_thresholds")]
    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
