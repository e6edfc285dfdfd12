from django.contrib import admin

from partnerhub.core.admin_base import ReadOnlyAdmin, ReadOnlyInline
from partnerhub.plans.models import Plan, PlanPrice


class PlanPriceInline(ReadOnlyInline):
    model = PlanPrice


@admin.register(Plan)
class PlanAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "display_name",
        "reseller",
        "plan_type",
        "enabled",
        "visible",
        "archived_at",
        "deleted_at",
        "version",
    ]
    list_filter = ["plan_type", "enabled", "visible"]
    list_select_related = ["reseller"]
    search_fields = ["name", "display_name", "reseller__slug"]
    inlines = [PlanPriceInline]


@admin.register(PlanPrice)
class PlanPriceAdmin(ReadOnlyAdmin):
    list_display = ["plan", "currency", "billing_cycle", "amount_minor"]
    list_select_related = ["plan"]
