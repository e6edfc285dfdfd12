from django.contrib import admin

from partnerhub.companies.models import Company
from partnerhub.core.admin_base import ReadOnlyAdmin


@admin.register(Company)
class CompanyAdmin(ReadOnlyAdmin):
    list_display = ["name", "reseller", "plan", "use_plan_fees", "has_own_fees", "created_at"]
    list_filter = ["use_plan_fees", "has_own_fees"]
    list_select_related = ["reseller", "plan"]
    search_fields = ["name", "contact_email", "reseller__slug"]
    raw_id_fields = ["plan", "fee_schedule"]
