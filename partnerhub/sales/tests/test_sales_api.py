"""Sales over the API (SPEC §15): idempotency, all-or-nothing batches, the time window,
the copy of the item's price and fees, late sales, tenancy."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from partnerhub.api.tests.conftest import assert_error
from partnerhub.audit.models import AuditEvent
from partnerhub.core.errors import ValidationFailed
from partnerhub.fees.models import SaleItem
from partnerhub.fees.recalc import recalculation_run
from partnerhub.fees.services import sale_item_create, sale_item_update
from partnerhub.fees.tests.factories import add_fee, set_gateway_fee
from partnerhub.plans.services import plan_update
from partnerhub.sales.models import Sale, SaleCutoff
from partnerhub.sales.services import sales_record
from partnerhub.testing.factories import CompanyFactory, SaleItemFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/sales"
GBP_TICKET = {"currency": "GBP", "fee_type": "ticket", "percent_bps": 250, "fixed_minor": 30}
ITEM = {"name": "Adult GA", "currency": "GBP", "fee_type": "ticket", "price_minor": 2000}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _ago(**delta: Any) -> str:
    return _iso(timezone.now() - timedelta(**delta))


def sale(n: int, item_id: int, quantity: int = 1, **kw: Any) -> dict[str, Any]:
    return {
        "id": f"sale-{n}",
        "sale_item_id": item_id,
        "quantity": quantity,
        "timestamp": kw.pop("timestamp", _ago(minutes=1)),
        **kw,
    }


@pytest.fixture
def world(personas):
    """Company A sells a GBP ticket whose fees come from its plan (250 bps + 30) and the
    gateway (200 bps + 8): 2000 -> reseller fee 80, gateway fee 48."""
    p = personas
    add_fee(p.plan_a.fee_schedule_id, "GBP", "ticket", 250, 30)
    set_gateway_fee("GBP", 200, 8)
    p.item = sale_item_create(actor=p.admin_a, company_id=p.company_a.pk, data=ITEM)
    p.company_b = CompanyFactory(reseller=p.reseller_b)
    p.item_b = SaleItemFactory(company=p.company_b)
    return p


def _stored(sale_id: str) -> tuple[Any, ...]:
    s = Sale.objects.get(sale_id=sale_id)
    return (
        s.reseller_id,
        s.company_id,
        s.sale_item_id,
        s.currency,
        s.fee_type,
        s.quantity,
        s.price_minor,
        s.reseller_fee_minor,
        s.gateway_fee_minor,
        s.blended,
        s.late_into,
    )


# --- recording ----------------------------------------------------------------------------


def test_a_sale_copies_its_items_price_and_fees(api, keys, world) -> None:
    stamp = timezone.now().replace(microsecond=123456) - timedelta(minutes=3)
    body = {"sales": [sale(1, world.item.pk, quantity=3, timestamp=_iso(stamp))]}

    response = api.post(URL, keys.admin_a, body)

    assert response.status_code == 200, response.content
    assert response.json() == {"accepted": 1, "duplicates": 0}
    assert _stored("sale-1") == (
        world.reseller_a.pk,
        world.company_a.pk,
        world.item.pk,
        "GBP",
        "ticket",
        3,
        2000,
        80,
        48,
        False,
        None,
    )
    assert Sale.objects.get().timestamp == stamp
    # The company's cutoff row now exists, for the close job and ingestion to lock.
    assert list(SaleCutoff.objects.values_list("company_id", "closed_until")) == [
        (world.company_a.pk, None)
    ]
    audit = AuditEvent.objects.get(action="sales.record")
    assert audit.reseller_id == world.reseller_a.pk
    assert audit.changes == {"accepted": 1, "first_id": ["sale-1"], "last_id": ["sale-1"]}


def test_sales_are_counted_once_per_id(api, keys, world) -> None:
    body = {"sales": [sale(1, world.item.pk, 2), sale(2, world.item.pk, 5)]}

    first = api.post(URL, keys.admin_a, body)
    again = api.post(URL, keys.admin_a, body)

    assert first.json() == {"accepted": 2, "duplicates": 0}
    assert again.status_code == 200
    assert again.json() == {"accepted": 0, "duplicates": 2}
    assert sorted(Sale.objects.values_list("sale_id", "quantity")) == [
        ("sale-1", 2),
        ("sale-2", 5),
    ]
    # The retry changed nothing, so it wrote no audit row.
    assert AuditEvent.objects.filter(action="sales.record").count() == 1


def test_a_repeat_inside_one_batch_counts_once(api, keys, world) -> None:
    s = sale(1, world.item.pk, quantity=4)

    response = api.post(URL, keys.admin_a, {"sales": [s, dict(s), sale(2, world.item.pk)]})

    assert response.json() == {"accepted": 2, "duplicates": 1}
    assert Sale.objects.count() == 2


def test_the_same_timestamp_in_another_offset_is_the_same_content(api, keys, world) -> None:
    s = sale(1, world.item.pk, timestamp="2026-12-01T10:00:00Z")
    same = {**s, "timestamp": "2026-12-01T11:00:00+01:00"}
    now = datetime(2026, 12, 2, tzinfo=UTC)
    first = sales_record(actor=world.admin_a, sales=[s], now=now)
    again = sales_record(actor=world.admin_a, sales=[same], now=now)

    assert (first.accepted, again.accepted, again.duplicates) == (1, 0, 1)


def test_the_same_id_with_other_content_is_a_422_conflict_and_stores_nothing(
    api, keys, world
) -> None:
    api.post(URL, keys.admin_a, {"sales": [sale(1, world.item.pk, quantity=3)]})

    response = api.post(
        URL, keys.admin_a, {"sales": [sale(2, world.item.pk), sale(1, world.item.pk, quantity=9)]}
    )

    error = assert_error(response, 422, "conflict")
    assert error["details"] == {"sales[1].id": ["was already recorded with other content"]}
    assert list(Sale.objects.values_list("sale_id", "quantity")) == [("sale-1", 3)]


def test_a_repeat_with_other_content_inside_a_batch_is_a_422(api, keys, world) -> None:
    batch = [sale(1, world.item.pk, quantity=1), sale(1, world.item.pk, quantity=2)]

    error = assert_error(api.post(URL, keys.admin_a, {"sales": batch}), 422)

    assert error["details"] == {"sales[1].id": ["repeats sales[0].id with other content"]}
    assert Sale.objects.count() == 0


def test_ids_are_per_reseller(api, keys, world) -> None:
    a = api.post(URL, keys.admin_a, {"sales": [sale(1, world.item.pk)]})
    b = api.post(URL, keys.admin_b, {"sales": [sale(1, world.item_b.pk, quantity=7)]})

    assert a.json() == b.json() == {"accepted": 1, "duplicates": 0}
    assert sorted(Sale.objects.values_list("reseller_id", "quantity")) == sorted(
        [(world.reseller_a.pk, 1), (world.reseller_b.pk, 7)]
    )


def test_platform_key_records_sales_of_every_reseller_in_one_batch(api, keys, world) -> None:
    body = {"sales": [sale(1, world.item.pk), sale(1, world.item_b.pk)]}

    response = api.post(URL, keys.platform, body)

    assert response.json() == {"accepted": 2, "duplicates": 0}
    assert set(
        AuditEvent.objects.filter(action="sales.record").values_list("reseller_id", flat=True)
    ) == {world.reseller_a.pk, world.reseller_b.pk}


# --- bad input: a 422 naming the index, nothing stored ------------------------------------

TOO_OLD = "2000-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"quantity": 0}, "sales[1].quantity"),
        ({"quantity": -3}, "sales[1].quantity"),
        ({"quantity": 10**9 + 1}, "sales[1].quantity"),
        ({"quantity": 1.5}, "sales[1].quantity"),
        ({"quantity": "2"}, "sales[1].quantity"),
        ({"quantity": True}, "sales[1].quantity"),
        ({"sale_item_id": 999_999}, "sales[1].sale_item_id"),
        ({"sale_item_id": 0}, "sales[1].sale_item_id"),
        ({"sale_item_id": 2**63}, "sales[1].sale_item_id"),
        ({"sale_item_id": "1"}, "sales[1].sale_item_id"),
        ({"sale_item_id": None}, "sales[1].sale_item_id"),
        ({"id": ""}, "sales[1].id"),
        ({"id": "x" * 201}, "sales[1].id"),
        ({"id": "nul\x00byte"}, "sales[1].id"),
        ({"id": 12}, "sales[1].id"),
        ({"timestamp": "yesterday"}, "sales[1].timestamp"),
        ({"timestamp": "2026-11-30T10:00:00"}, "sales[1].timestamp"),
        ({"timestamp": 1764496800}, "sales[1].timestamp"),
        ({"timestamp": TOO_OLD}, "sales[1].timestamp"),
        ({"timestamp": "0001-01-01T00:00:00+01:00"}, "sales[1].timestamp"),
        ({"timestamp": "9999-12-31T23:59:59-01:00"}, "sales[1].timestamp"),
        ({"extra": 1}, "sales[1].extra"),
    ],
)
def test_a_bad_sale_is_a_422_naming_its_index_and_nothing_is_stored(
    api, keys, world, bad, field
) -> None:
    sales = [sale(1, world.item.pk), {**sale(2, world.item.pk), **bad}]

    error = assert_error(api.post(URL, keys.admin_a, {"sales": sales}), 422)

    assert field in error["details"], error
    assert Sale.objects.count() == 0
    assert not AuditEvent.objects.filter(action="sales.record").exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"sales": []},
        {"sales": None},
        {"sales": {"id": "x"}},
        {"sales": ["x"]},
        {"sales": [[1, 2]]},
        {"sales": [{}]},
        {"sales": [None]},
        {"sales": [{"id": "s", "sale_item_id": 1, "quantity": 1}]},
        {"events": []},
        [],
        "sales",
        None,
    ],
)
def test_a_malformed_body_is_a_422_never_a_500(api, keys, world, body) -> None:
    error = assert_error(api.post(URL, keys.admin_a, body), 422)

    assert error["details"]
    assert Sale.objects.count() == 0


def test_a_body_that_is_not_json_is_a_400(api, keys, world) -> None:
    assert_error(api.post(URL, keys.admin_a, raw="{not json"), 400)


@pytest.mark.parametrize("size", [0, 1001])
def test_a_batch_holds_1_to_1000_sales(api, keys, world, size) -> None:
    sales = [sale(n, world.item.pk) for n in range(size)]

    error = assert_error(api.post(URL, keys.admin_a, {"sales": sales}), 422)

    assert "sales" in error["details"]


def test_a_full_batch_with_one_bad_sale_stores_nothing(api, keys, world) -> None:
    sales = [sale(n, world.item.pk) for n in range(1000)]
    sales[777]["sale_item_id"] = world.item_b.pk  # another reseller's: like a missing one

    error = assert_error(api.post(URL, keys.admin_a, {"sales": sales}), 422)

    assert error["details"] == {"sales[777].sale_item_id": ["no such sale item"]}
    assert Sale.objects.count() == 0


def test_a_full_batch_with_repeats_inside_and_across_counts_each_sale_once(
    api, keys, world
) -> None:
    first = [sale(n, world.item.pk) for n in range(600)]
    api.post(URL, keys.admin_a, {"sales": first})
    second = first[300:] + [sale(n, world.item.pk) for n in range(600, 1000)]
    second[-1] = dict(second[0])  # a repeat inside the batch too

    response = api.post(URL, keys.admin_a, {"sales": second})

    assert response.json() == {"accepted": 399, "duplicates": 301}
    assert Sale.objects.count() == 999


def test_a_sale_more_than_five_minutes_ahead_is_refused(api, keys, world) -> None:
    ahead = (timezone.now() + timedelta(minutes=10)).isoformat()
    almost = (timezone.now() + timedelta(minutes=4)).isoformat()

    error = assert_error(
        api.post(URL, keys.admin_a, {"sales": [sale(1, world.item.pk, timestamp=ahead)]}), 422
    )
    ok = api.post(URL, keys.admin_a, {"sales": [sale(2, world.item.pk, timestamp=almost)]})

    assert error["details"] == {"sales[0].timestamp": ["is in the future"]}
    assert ok.json() == {"accepted": 1, "duplicates": 0}


def test_the_oldest_sale_taken_is_400_days_old(world) -> None:
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    oldest = now - timedelta(days=400)
    ok = sales_record(
        actor=world.admin_a, sales=[sale(1, world.item.pk, timestamp=_iso(oldest))], now=now
    )
    with pytest.raises(ValidationFailed) as refused:
        sales_record(
            actor=world.admin_a,
            sales=[sale(2, world.item.pk, timestamp=_iso(oldest - timedelta(seconds=1)))],
            now=now,
        )

    assert ok.accepted == 1
    assert refused.value.details == {"sales[0].timestamp": ["is more than 400 days old"]}


def test_a_sale_whose_amount_would_overflow_is_refused(api, keys, world) -> None:
    dear = SaleItemFactory(company=world.company_a, price_minor=10**12)

    error = assert_error(
        api.post(URL, keys.admin_a, {"sales": [sale(1, dear.pk, quantity=10**6)]}), 422
    )
    ok = api.post(URL, keys.admin_a, {"sales": [sale(2, dear.pk, quantity=1000)]})

    assert "sales[0].quantity" in error["details"]
    assert ok.json()["accepted"] == 1


# --- what a sale keeps ----------------------------------------------------------------------


def _edit_plan_fees(p, percent_bps: int) -> None:
    p.plan_a.refresh_from_db()
    result = plan_update(
        actor=p.admin_a,
        plan_id=p.plan_a.pk,
        version=p.plan_a.version,
        changes={"fees": [{**GBP_TICKET, "percent_bps": percent_bps}]},
        fee_apply_mode="all",
    )
    recalculation_run(job_id=result.job.pk)


def test_a_recalculation_or_an_item_edit_never_rewrites_a_recorded_sale(api, keys, world) -> None:
    api.post(URL, keys.admin_a, {"sales": [sale(1, world.item.pk, quantity=2)]})
    before = _stored("sale-1")

    _edit_plan_fees(world, 500)
    world.item.refresh_from_db()
    assert world.item.reseller_fee_minor == 130  # the item moved on
    sale_item_update(actor=world.admin_a, item_id=world.item.pk, changes={"price_minor": 5000})
    api.post(URL, keys.admin_a, {"sales": [sale(2, world.item.pk, quantity=2)]})

    assert _stored("sale-1") == before
    assert _stored("sale-2")[6:9] == (5000, 280, 108)  # a new sale takes today's fees


def test_a_deleted_item_leaves_its_sales_with_what_they_copied(api, keys, world) -> None:
    api.post(URL, keys.admin_a, {"sales": [sale(1, world.item.pk)]})

    SaleItem.objects.filter(pk=world.item.pk).delete()

    assert _stored("sale-1")[2:9] == (None, "GBP", "ticket", 1, 2000, 80, 48)


def test_a_blended_item_sale_keeps_the_split(api, keys, world) -> None:
    blended = SaleItemFactory(
        company=world.company_a,
        price_minor=1000,
        reseller_fee_minor=40,
        gateway_fee_minor=28,
        blended=True,
    )

    api.post(URL, keys.admin_a, {"sales": [sale(1, blended.pk)]})

    assert _stored("sale-1")[6:10] == (1000, 40, 28, True)


# --- late sales -----------------------------------------------------------------------------


def test_a_sale_before_the_companys_cutoff_is_booked_late_into_the_open_period(
    api, keys, world
) -> None:
    today = timezone.now().date()
    SaleCutoff.objects.create(company=world.company_a, closed_until=today)
    yesterday = _iso(datetime.combine(today, datetime.min.time(), UTC) - timedelta(seconds=1))
    midnight = _iso(datetime.combine(today, datetime.min.time(), UTC))
    other = CompanyFactory(reseller=world.reseller_a)  # no cutoff: nothing closed
    other_item = SaleItemFactory(company=other)

    response = api.post(
        URL,
        keys.admin_a,
        {
            "sales": [
                sale(1, world.item.pk, timestamp=yesterday),
                sale(2, world.item.pk, timestamp=midnight),
                sale(3, other_item.pk, timestamp=yesterday),
            ]
        },
    )

    assert response.json() == {"accepted": 3, "duplicates": 0}
    assert dict(Sale.objects.values_list("sale_id", "late_into")) == {
        "sale-1": today,
        "sale-2": None,
        "sale-3": None,
    }


def test_a_cutoff_raised_later_does_not_touch_sales_already_recorded(api, keys, world) -> None:
    body = {"sales": [sale(1, world.item.pk, timestamp=_ago(days=40))]}
    api.post(URL, keys.admin_a, body)

    SaleCutoff.objects.filter(company=world.company_a).update(closed_until=date.today())
    retry = api.post(URL, keys.admin_a, body)

    # The retry is a duplicate of a sale recorded on time: it stays in its own period
    # (the close job counted it there), never moved to the late ones.
    assert retry.json() == {"accepted": 0, "duplicates": 1}
    assert Sale.objects.get().late_into is None


# --- tenancy and access ---------------------------------------------------------------------


def test_another_resellers_item_is_reported_like_a_missing_one(api, keys, world) -> None:
    foreign = api.post(URL, keys.admin_b, {"sales": [sale(1, world.item.pk)]})
    missing = api.post(URL, keys.admin_b, {"sales": [sale(1, 2_000_000_000)]})

    assert foreign.status_code == missing.status_code == 422
    assert foreign.json() == missing.json()
    assert Sale.objects.count() == 0


@pytest.mark.parametrize("who", ["viewer_a", "company_a"])
def test_viewer_and_company_keys_cannot_record_sales(api, keys, world, who) -> None:
    response = api.post(URL, getattr(keys, who), {"sales": [sale(1, world.item.pk)]})

    assert_error(response, 403, "forbidden")
    assert Sale.objects.count() == 0


def test_without_a_key_it_is_a_401(api, world) -> None:
    assert_error(api.post(URL, None, {"sales": [sale(1, world.item.pk)]}), 401)


# --- fuzz: whatever the shape, a clear answer, never a 500 ----------------------------------

_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_TIMES = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.timezones()
).map(lambda t: t.isoformat())
OWN_ITEM = -12345  # replaced by the world's item in the test
_JUNK = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(max_size=210) | _JSON,
        "sale_item_id": st.integers(min_value=-1, max_value=2**64) | _JSON,
        "quantity": st.integers(min_value=-1, max_value=2 * 10**9) | _JSON,
        "timestamp": _TIMES | _JSON,
        "extra": _JSON,
    },
)
_VALID = st.fixed_dictionaries(
    {
        "id": st.text(min_size=1, max_size=3),
        "sale_item_id": st.just(OWN_ITEM),
        "quantity": st.integers(1, 5),
        "timestamp": st.just(_ago(minutes=1)) | st.just(_ago(days=30)),
    }
)


def _mutate(sale: dict[str, Any], field: str, value: Any, drop: bool) -> dict[str, Any]:
    changed = {k: v for k, v in sale.items() if not (drop and k == field)}
    return changed if drop else {**changed, field: value}


_MUTATED = st.builds(
    _mutate,
    _VALID,
    st.sampled_from(["id", "sale_item_id", "quantity", "timestamp", "extra"]),
    _JSON | _TIMES | st.integers(min_value=-(2**64), max_value=2**64),
    st.booleans(),
)
_SALE = _VALID | _MUTATED | _JUNK


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sales=st.lists(_SALE, min_size=1, max_size=4))
def test_any_shape_of_sale_is_answered_200_or_422_never_500(api, keys, world, sales) -> None:
    for s in sales:
        if s.get("sale_item_id") == OWN_ITEM:
            s["sale_item_id"] = world.item.pk
    before = Sale.objects.count()

    response = api.post(URL, keys.admin_a, {"sales": sales})

    assert response.status_code in (200, 422), response.content
    event(f"status {response.status_code}")  # --hypothesis-show-statistics: both occur
    if response.status_code == 422:
        assert response.json()["error"]["details"]
        assert Sale.objects.count() == before
    else:
        assert Sale.objects.count() == before + response.json()["accepted"]
