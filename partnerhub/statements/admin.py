from django.contrib import admin

from partnerhub.core.admin_base import ReadOnlyAdmin
from partnerhub.statements.models import (
    CloseChunk,
    CloseJob,
    Statement,
    StatementLine,
    StatementNumbering,
)


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdmin):
    """Statements are made by the engine and the close job; a closed one never changes."""

    list_display = ["__str__", "reseller", "company", "period_start", "currency", "gross_minor"]
    list_filter = ["kind", "status", "currency"]
    list_select_related = ["reseller", "company"]
    raw_id_fields = ["reseller", "company"]


@admin.register(StatementLine)
class StatementLineAdmin(ReadOnlyAdmin):
    list_display = ["statement", "seq", "kind", "description", "gross_minor"]
    list_filter = ["kind"]
    raw_id_fields = ["statement", "company", "plan"]


@admin.register(StatementNumbering)
class StatementNumberingAdmin(ReadOnlyAdmin):
    list_display = ["reseller", "last_number"]
    raw_id_fields = ["reseller"]


@admin.register(CloseJob)
class CloseJobAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "cutoff", "companies_done", "companies_total", "created_at"]
    list_filter = ["status"]


@admin.register(CloseChunk)
class CloseChunkAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "company_id_from", "company_id_to", "done"]
    raw_id_fields = ["job"]
