from django.contrib import admin

from partnerhub.core.admin_base import ReadOnlyAdmin
from partnerhub.sales.models import Sale, SaleCutoff


@admin.register(Sale)
class SaleAdmin(ReadOnlyAdmin):
    """Recorded sales, as the host sent them: never edited (the statements count them)."""

    list_display = [
        "sale_id",
        "company",
        "fee_type",
        "quantity",
        "currency",
        "timestamp",
        "late_into",
    ]
    list_filter = ["currency", "fee_type", "blended"]
    list_select_related = ["company"]
    search_fields = ["sale_id"]
    raw_id_fields = ["reseller", "company", "sale_item"]


@admin.register(SaleCutoff)
class SaleCutoffAdmin(ReadOnlyAdmin):
    list_display = ["company", "closed_until"]
    raw_id_fields = ["company"]
