from django.contrib import admin

from partnerhub.companies.models import Company, PlanSnapshot, SubscriptionChange
from partnerhub.core.admin_base import ReadOnlyAdmin


@admin.register(Company)
class CompanyAdmin(ReadOnlyAdmin):
    list_display = ["name", "reseller", "plan", "use_plan_fees", "has_own_fees", "created_at"]
    list_filter = ["use_plan_fees", "has_own_fees"]
    list_select_related = ["reseller", "plan"]
    search_fields = ["name", "contact_email", "reseller__slug"]
    raw_id_fields = ["plan", "fee_schedule", "plan_snapshot", "snapshot_fee_schedule"]


@admin.register(PlanSnapshot)
class PlanSnapshotAdmin(ReadOnlyAdmin):
    """A deleted plan's configuration its former companies share (copy-on-write)."""

    list_display = ["__str__", "plan", "created_at"]
    list_select_related = ["plan"]
    raw_id_fields = ["plan", "fee_schedule"]


@admin.register(SubscriptionChange)
class SubscriptionChangeAdmin(ReadOnlyAdmin):
    """A company's plan and cycle from a moment on: what the statements prorate by."""

    list_display = ["company", "effective_at", "plan", "billing_cycle", "billing_currency"]
    list_select_related = ["company", "plan"]
    raw_id_fields = ["company", "plan"]
