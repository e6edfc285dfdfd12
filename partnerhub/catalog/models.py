"""The platform's catalog: features, limits, fee types, currencies, gateway fees, tax."""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models

from partnerhub.core.iso4217 import ISO4217_EXPONENTS
from partnerhub.core.validation import KEY_MAX_LENGTH as KEY_MAX_LENGTH  # keys of all three

# The feature that switches a reseller's Plans section on.
PLANS_FEATURE_KEY = "plans"


# One constant per field limit: the models, the services, the API schemas and the
# hub forms all read these.
NAME_MAX_LENGTH = 120  # feature, limit and fee type names
CURRENCY_NAME_MAX_LENGTH = 80
CURRENCY_CODE_LENGTH = 3  # ISO 4217
LIMIT_UNIT_MAX_LENGTH = 40


class Feature(models.Model):
    key = models.SlugField(max_length=KEY_MAX_LENGTH, unique=True)
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    description = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class Limit(models.Model):
    """A plan benefit: a non-negative integer per company, or null for unlimited."""

    class Period(models.TextChoices):
        NONE = "none", "No period"
        MONTH = "month", "Per month"

    class Kind(models.TextChoices):
        # SPEC §13: what Partnerhub counts against the limit.
        METERED = "metered", "Metered (per usage period)"
        GAUGE = "gauge", "Gauge (a current count)"
        CAP = "cap", "Cap (checked on demand)"

    key = models.SlugField(max_length=KEY_MAX_LENGTH, unique=True)
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    unit = models.CharField(max_length=LIMIT_UNIT_MAX_LENGTH, default="")
    period = models.CharField(max_length=8, choices=Period.choices, default=Period.NONE)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.METERED)
    description = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.key


class FeeType(models.Model):
    """A kind of sale item a fee applies to (ticket, product, donation…)."""

    key = models.SlugField(max_length=KEY_MAX_LENGTH, unique=True)
    name = models.CharField(max_length=NAME_MAX_LENGTH)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class Currency(models.Model):
    code = models.CharField(max_length=CURRENCY_CODE_LENGTH, unique=True)
    name = models.CharField(max_length=CURRENCY_NAME_MAX_LENGTH, default="")

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "currencies"

    def __str__(self) -> str:
        return self.code

    @property
    def exponent(self) -> int:
        # The pinned table is the only source: see iso4217.py.
        return ISO4217_EXPONENTS[self.code]


class GatewayFee(models.Model):
    """The payment gateway's processing fee for one currency, set by the platform."""

    currency = models.OneToOneField(
        Currency,
        to_field="code",
        db_column="currency",
        on_delete=models.PROTECT,
        related_name="gateway_fee",
    )
    percent_bps = models.PositiveIntegerField(validators=[MinValueValidator(0)])  # basis points
    fixed_minor = models.BigIntegerField(default=0)  # minor units

    def __str__(self) -> str:
        return f"{self.currency_id}: {self.percent_bps} bps + {self.fixed_minor}"


class TaxSettings(models.Model):
    """Singleton (pk=1): the platform's GST rate."""

    gst_rate_bps = models.PositiveIntegerField(default=1800)  # basis points: 1800 = 18.00 %

    class Meta:
        verbose_name = "tax settings"
        verbose_name_plural = "tax settings"

    def __str__(self) -> str:
        return f"GST {self.gst_rate_bps / 100:.2f} %"

    @classmethod
    def current(cls) -> TaxSettings:
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj
