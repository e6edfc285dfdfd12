"""`partnerhub seed --sales N`: synthetic sales written set-based, as ingestion would."""

from __future__ import annotations

import io
from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from partnerhub.audit.models import AuditEvent
from partnerhub.core.actor import platform_actor
from partnerhub.fees.models import SaleItem
from partnerhub.resellers.models import Reseller
from partnerhub.sales.models import Sale, SaleCutoff
from partnerhub.sales.services import sales_record

pytestmark = pytest.mark.django_db


def _seed(**options) -> str:
    out = io.StringIO()
    call_command("seed", stdout=out, **options)
    return out.getvalue()


def test_seeded_sales_copy_their_items_and_spread_over_the_last_90_days() -> None:
    before = timezone.now()
    out = _seed(resellers=1, companies=4, items=3, sales=30)

    assert "30 sales over the stored sale items" in out
    items = {i.pk: i for i in SaleItem.objects.select_related("company")}
    sales = list(Sale.objects.all())
    assert len(sales) == 30
    for s in sales:
        assert s.sale_item_id is not None
        item = items[s.sale_item_id]
        assert (s.reseller_id, s.company_id) == (item.company.reseller_id, item.company_id)
        assert (s.currency, s.fee_type, s.price_minor, s.blended) == (
            item.currency_id,
            item.fee_type_id,
            item.price_minor,
            item.blended,
        )
        assert (s.reseller_fee_minor, s.gateway_fee_minor) == (
            item.reseller_fee_minor,
            item.gateway_fee_minor,
        )
        assert before - timedelta(days=90, seconds=1) <= s.timestamp <= timezone.now()
        assert 1 <= s.quantity <= 5 and s.late_into is None
    assert set(Counter(s.sale_item_id for s in sales).values()) <= {2, 3}  # round robin
    assert len({s.timestamp.date() for s in sales}) > 10
    assert AuditEvent.objects.filter(action="seed.sales").get().changes == {
        "sales": {"old": None, "new": 30}
    }


def test_fewer_sales_than_items_go_round_the_companies_first() -> None:
    _seed(resellers=1, companies=5, items=10, sales=5)

    assert sorted(Counter(Sale.objects.values_list("company_id", flat=True)).values()) == [1] * 5


def test_resellers_0_adds_sales_only_and_each_run_adds_its_own() -> None:
    _seed(resellers=1, companies=2, items=2, sales=4)

    _seed(resellers=0, sales=6)

    assert Reseller.objects.filter(slug__startswith="bench-").count() == 1
    assert Sale.objects.count() == 10
    assert len({s.split("-")[1] for s in Sale.objects.values_list("sale_id", flat=True)}) == 2


def test_seeded_sales_before_a_cutoff_are_marked_late_like_ingested_ones() -> None:
    _seed(resellers=1, companies=2, items=1, sales=1)  # companies exist; one sale
    company_id = SaleItem.objects.order_by("id").values_list("company_id", flat=True)[0]
    closed_until = timezone.now().date() - timedelta(days=30)
    SaleCutoff.objects.create(company_id=company_id, closed_until=closed_until)

    _seed(resellers=0, sales=500)  # past n = 447, where n x stride outgrows 32 bits

    marked = Sale.objects.filter(company_id=company_id)
    assert marked.exists()
    for s in marked:
        late = s.timestamp.date() < closed_until
        assert s.late_into == (closed_until if late else None)
    assert marked.filter(late_into=closed_until).exists()
    assert marked.filter(late_into__isnull=True).exists()
    assert not Sale.objects.exclude(company_id=company_id).filter(late_into__isnull=False)


def test_a_seeded_sale_sent_again_through_ingestion_is_a_duplicate() -> None:
    _seed(resellers=1, companies=1, items=2, sales=3)
    stored = Sale.objects.order_by("id")
    batch = [
        {
            "id": s.sale_id,
            "sale_item_id": s.sale_item_id,
            "quantity": s.quantity,
            "timestamp": s.timestamp.isoformat(),
        }
        for s in stored
    ]

    result = sales_record(actor=platform_actor(), sales=batch)

    assert (result.accepted, result.duplicates) == (0, 3)


def test_sales_need_sale_items() -> None:
    with pytest.raises(CommandError, match="needs sale items"):
        _seed(resellers=1, companies=1, items=0, sales=5)

    assert not Sale.objects.exists()


@pytest.mark.parametrize("options", [{"sales": -1}, {"resellers": 0}])
def test_bad_counts_are_refused(options) -> None:
    with pytest.raises(CommandError):
        _seed(**options)
