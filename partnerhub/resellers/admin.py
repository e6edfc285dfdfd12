from django.contrib import admin

from partnerhub.core.admin_base import ReadOnlyAdmin
from partnerhub.resellers.models import Reseller, ResellerVersions


@admin.register(Reseller)
class ResellerAdmin(ReadOnlyAdmin):
    list_display = ["name", "slug", "default_registration_plan", "created_at"]
    search_fields = ["name", "slug"]
    list_select_related = ["default_registration_plan"]


@admin.register(ResellerVersions)
class ResellerVersionsAdmin(ReadOnlyAdmin):
    """The cache-key counters (resellers/versions.py), for looking at, never for editing."""

    list_display = ["reseller", "plans", "entitlements"]
    list_select_related = ["reseller"]
