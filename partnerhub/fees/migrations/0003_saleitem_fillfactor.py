"""Leave free space in sale item pages on PostgreSQL so fee recalculation is a HOT update.

The fee columns carry no index; with room left on each page PostgreSQL can
rewrite a row in place of its page without touching any index (SPEC §11).
"""

from django.db import migrations


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE fees_saleitem SET (fillfactor = 70)")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE fees_saleitem RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("fees", "0002_initial")]
    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
