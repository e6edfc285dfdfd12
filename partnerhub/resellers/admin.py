from django.contrib import admin

from partnerhub.ops.admin_base import ReadOnlyAdmin
from partnerhub.resellers.models import Reseller


@admin.register(Reseller)
class ResellerAdmin(ReadOnlyAdmin):
    list_display = ["name", "slug", "default_registration_plan", "created_at"]
    search_fields = ["name", "slug"]
    list_select_related = ["default_registration_plan"]
