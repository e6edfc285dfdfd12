"""Sale item pages half empty on PostgreSQL, so a recalculation is a HOT update every time.

A recalculation rewrites every item of a company in one transaction, and a
company's items sit together on their pages, so every row of a page gets a
new version before any old one is dead. With fillfactor 70 only about 18 of a
page's ~42 rows found room on the page (measured: 68 % HOT on a fresh table);
at 50 the new versions of all of a page's rows fit beside the old ones. Only
pages written after this migration are affected; existing ones converge as
rows are rewritten and vacuumed.
"""

from django.db import migrations


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE fees_saleitem SET (fillfactor = 50)")


def back_to_70(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE fees_saleitem SET (fillfactor = 70)")


class Migration(migrations.Migration):
    dependencies = [("fees", "0004_recalcjob_scope_and_recovery")]
    operations = [migrations.RunPython(set_fillfactor, back_to_70)]
