from django.contrib import admin

from partnerhub.audit.models import AuditEvent
from partnerhub.core.admin_base import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "action", "object_type", "object_id", "actor_label", "reseller"]
    list_filter = ["object_type", "actor_role"]
    search_fields = ["actor_label", "object_repr", "action"]
    date_hierarchy = "created_at"
