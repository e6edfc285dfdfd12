from django.contrib import admin

from partnerhub.catalog.models import Currency, Feature, FeeType, GatewayFee, Limit, TaxSettings
from partnerhub.core.admin_base import ReadOnlyAdmin


@admin.register(Feature)
class FeatureAdmin(ReadOnlyAdmin):
    list_display = ["key", "name"]
    search_fields = ["key", "name"]


@admin.register(Limit)
class LimitAdmin(ReadOnlyAdmin):
    list_display = ["key", "name", "unit", "period"]


@admin.register(FeeType)
class FeeTypeAdmin(ReadOnlyAdmin):
    list_display = ["key", "name"]


@admin.register(Currency)
class CurrencyAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "exponent"]
    search_fields = ["code", "name"]


@admin.register(GatewayFee)
class GatewayFeeAdmin(ReadOnlyAdmin):
    list_display = ["currency", "percent_bps", "fixed_minor"]


@admin.register(TaxSettings)
class TaxSettingsAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "gst_rate_bps"]
