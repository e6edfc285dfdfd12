"""Sales (SPEC §15): sold quantities of sale items, what the statements' fee lines are
charged on.

A sale keeps the item's price and stored fees as they were when it was recorded: a later
recalculation rewrites the sale item (fees/recalc), never a recorded sale.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

SALE_ID_MAX_LENGTH = 200
MAX_SALE_QUANTITY = 10**9


class Sale(models.Model):
    """One sale as the host sent it.

    Built for millions of rows: the indexes are the unique (reseller, sale_id) that
    deduplicates retries, (company, timestamp) for a statement's period, and a partial
    index on the late ones. Amounts are per unit, copied from the sale item.
    """

    reseller = models.ForeignKey(
        "resellers.Reseller", on_delete=models.CASCADE, db_index=False, related_name="+"
    )
    sale_id = models.CharField(max_length=SALE_ID_MAX_LENGTH)  # the client's id, per reseller
    company = models.ForeignKey(
        "companies.Company", on_delete=models.CASCADE, db_index=False, related_name="+"
    )
    # The item may be deleted later; the sale keeps what it needs of it.
    sale_item = models.ForeignKey(
        "fees.SaleItem", null=True, on_delete=models.SET_NULL, db_index=False, related_name="+"
    )
    currency = models.CharField(max_length=3)  # ISO 4217, the item's
    fee_type = models.CharField(max_length=64)  # catalog fee type key, the item's
    quantity = models.BigIntegerField()
    price_minor = models.BigIntegerField()  # minor units, per unit, at the time of sale
    reseller_fee_minor = models.BigIntegerField()  # minor units, per unit, at the time of sale
    gateway_fee_minor = models.BigIntegerField()  # minor units, per unit, at the time of sale
    blended = models.BooleanField()  # as the item was at the time of sale
    timestamp = models.DateTimeField()  # when it was sold (the host's clock)
    # A sale whose own period's statement was already closed when it arrived is booked,
    # as an adjustment, into the open period starting on this day; None for a sale on time.
    late_into = models.DateField(null=True, blank=True)
    recorded_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reseller", "sale_id"], name="sale_id_unique"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="sale_quantity_positive"),
        ]
        indexes = [
            models.Index(fields=["company", "timestamp"], name="sale_company_time"),
            models.Index(
                fields=["company", "late_into"],
                name="sale_company_late",
                condition=Q(late_into__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sale_id}: {self.quantity} x item {self.sale_item_id}"


class SaleCutoff(models.Model):
    """How far a company's statements are closed: every statement of the company for a
    period ending on or before `closed_until` is closed (SPEC §15, "Late sales").

    Ingestion and the close job both go through `sales.cutoffs.cutoffs_lock` in their
    transaction: it makes sure the batch's (or chunk's) companies have a row, then locks
    the rows in company order, FOR SHARE for ingestion, FOR UPDATE for the close job,
    which raises `closed_until` (`cutoffs_raise`) in the same transaction. So a sale is
    either counted in a closed statement or marked late, never both nor neither. The row
    must exist before either side reads it: a lock on no row holds nothing back, and a
    sale recorded while a company's first close ran could land in neither.
    """

    company = models.OneToOneField(
        "companies.Company", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    # The first day of the company's first open billing period: a sale dated before it
    # is late and books into that period (Sale.late_into). None: nothing closed yet (the
    # row exists only to be locked).
    closed_until = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return f"company {self.company_id} closed until {self.closed_until}"
