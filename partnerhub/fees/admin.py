from django.contrib import admin

from partnerhub.core.admin_base import ReadOnlyAdmin, ReadOnlyInline
from partnerhub.fees.models import FeeSchedule, FeeScheduleEntry, RecalcChunk, RecalcJob, SaleItem


class FeeScheduleEntryInline(ReadOnlyInline):
    model = FeeScheduleEntry


@admin.register(FeeSchedule)
class FeeScheduleAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "created_at"]
    inlines = [FeeScheduleEntryInline]


@admin.register(FeeScheduleEntry)
class FeeScheduleEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "schedule",
        "currency",
        "fee_type",
        "percent_bps",
        "fixed_minor",
        "min_minor",
        "max_minor",
        "blended",
    ]
    list_filter = ["currency", "fee_type", "blended"]


@admin.register(SaleItem)
class SaleItemAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "company",
        "currency",
        "fee_type",
        "price_minor",
        "reseller_fee_minor",
        "gateway_fee_minor",
        "blended",
        "fee_revision",
    ]
    list_select_related = ["company"]
    search_fields = ["name", "external_ref", "company__name"]
    raw_id_fields = ["company"]
    show_full_result_count = False  # sale items run to millions: skip the COUNT(*)


@admin.register(RecalcJob)
class RecalcJobAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "reseller",
        "plan",
        "status",
        "companies_done",
        "companies_total",
        "items_done",
        "items_total",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status"]
    list_select_related = ["reseller", "plan"]


@admin.register(RecalcChunk)
class RecalcChunkAdmin(ReadOnlyAdmin):
    list_display = ["id", "job", "seq", "items_counted", "done", "worker_id", "done_at"]
    list_filter = ["done"]
    list_select_related = ["job"]
