from datetime import UTC, datetime

import pytest
from django.core.cache import cache

from partnerhub.accounts import ratecounter
from partnerhub.audit.models import AuditEvent
from partnerhub.companies.models import Company
from partnerhub.core.errors import NotFound, RateLimited, ValidationFailed
from partnerhub.registration.ratelimit import registration_rate_check
from partnerhub.registration.services import company_register
from partnerhub.testing.factories import PlanFactory


@pytest.fixture
def default_plan(personas):
    plan = PlanFactory(reseller=personas.reseller_a, name="starter", features=["plans"])
    personas.reseller_a.default_registration_plan = plan
    personas.reseller_a.save()
    return plan


def _register(**kwargs):
    data = {"reseller_slug": "northwind", "company_name": "Fresh Co", "contact_email": "a@b.test"}
    return company_register(**{**data, **kwargs})


def test_registration_gets_the_default_plan_with_plan_fees(personas, default_plan):
    company = _register()

    assert company.reseller_id == personas.reseller_a.pk
    assert company.plan_id == default_plan.pk
    assert company.use_plan_fees is True
    assert company.contact_email == "a@b.test"
    event = AuditEvent.objects.get(action="company.create", object_id=company.pk)
    assert event.actor_label == "self-service registration"
    assert event.actor_role == "system"
    assert event.reseller_id == personas.reseller_a.pk


@pytest.mark.parametrize(
    "change",
    [
        {"archived_at": datetime(2026, 1, 1, tzinfo=UTC)},
        {"deleted_at": datetime(2026, 1, 1, tzinfo=UTC)},
        {"enabled": False},
    ],
)
def test_unassignable_default_plan_registers_the_company_custom(personas, default_plan, change):
    for field, value in change.items():
        setattr(default_plan, field, value)
    default_plan.save()

    company = _register()

    assert company.plan_id is None
    assert Company.objects.filter(pk=company.pk, reseller=personas.reseller_a).exists()


def test_reseller_without_the_plans_feature_registers_companies_custom(personas, default_plan):
    personas.reseller_a.features.set(personas.reseller_a.features.exclude(key="plans"))

    company = _register()

    assert company.plan_id is None


def test_reseller_without_a_default_plan_registers_companies_custom(personas):
    company = _register(reseller_slug="southwind")

    assert company.plan_id is None
    assert company.reseller_id == personas.reseller_b.pk


def test_unknown_reseller_is_not_found(personas):
    with pytest.raises(NotFound):
        _register(reseller_slug="nowhere")
    assert not Company.objects.filter(name="Fresh Co").exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"company_name": "   "}, "company_name"),
        ({"company_name": "x" * 201}, "company_name"),
        ({"contact_email": ""}, "contact_email"),
        ({"contact_email": "not-an-email"}, "contact_email"),
        ({"contact_email": None}, "contact_email"),
    ],
)
def test_bad_registration_input_names_the_field(personas, kwargs, field):
    with pytest.raises(ValidationFailed) as exc:
        _register(**kwargs)
    assert field in exc.value.details
    assert exc.value.details[field][0].endswith(".")
    assert Company.objects.filter(reseller=personas.reseller_a).count() == 1


@pytest.fixture
def frozen_clock(monkeypatch, settings, db):
    settings.REGISTRATION_RATE_LIMIT = 2
    settings.REGISTRATION_RATE_WINDOW_SECONDS = 60
    cache.clear()
    now = {"t": 1_800_000_010}  # 10 s into a window
    monkeypatch.setattr(ratecounter, "now_seconds", lambda: now["t"])
    return now


def test_rate_limit_blocks_attempts_over_the_limit_with_retry_after(frozen_clock):
    registration_rate_check("203.0.113.9")
    registration_rate_check("203.0.113.9")

    with pytest.raises(RateLimited) as exc:
        registration_rate_check("203.0.113.9")

    assert exc.value.retry_after == 50
    assert exc.value.details == {"retry_after": 50}
    registration_rate_check("198.51.100.1")  # another client has its own budget


def test_rate_limit_resets_in_the_next_window(frozen_clock):
    for _ in range(2):
        registration_rate_check("203.0.113.9")
    frozen_clock["t"] += 50

    registration_rate_check("203.0.113.9")
    registration_rate_check("203.0.113.9")
    with pytest.raises(RateLimited):
        registration_rate_check("203.0.113.9")
