from django.contrib import admin

from partnerhub.accounts.login import ThrottledAdminAuthenticationForm
from partnerhub.accounts.models import ApiKey, Membership, RateCounter
from partnerhub.core.admin_base import ReadOnlyAdmin

# /admin/login/ counts failures with the hub's login (accounts/login.py).
admin.site.login_form = ThrottledAdminAuthenticationForm


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ["user", "role", "reseller"]
    list_filter = ["role"]
    list_select_related = ["user", "reseller"]
    search_fields = ["user__username"]


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = ["prefix", "name", "scope", "reseller", "company", "last_used_at", "revoked_at"]
    list_filter = ["scope"]
    list_select_related = ["reseller", "company"]
    search_fields = ["prefix", "name"]
    exclude = ["hashed_secret"]


@admin.register(RateCounter)
class RateCounterAdmin(ReadOnlyAdmin):
    """Login and registration attempt counters (accounts/ratecounter.py)."""

    list_display = ["key", "count", "expires_at"]
    search_fields = ["key"]
