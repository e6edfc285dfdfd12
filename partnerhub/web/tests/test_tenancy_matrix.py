"""The hub's cross-tenant matrix, generated from the URLconf (issue 11, STYLE.md).

Every hub URL that names an object, for every hub persona, by GET and by POST: another
reseller's object answers exactly as a missing one (status and page, the id aside) and a
POST on it writes nothing. Query parameters that name an object (a list filter, the
reseller a plan is created for) are in the matrix too.

A new URL with an object parameter of a kind this module does not know fails
`test_every_hub_url_is_covered_by_the_matrix`.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from partnerhub.accounts.services import api_key_create
from partnerhub.audit.models import AuditEvent
from partnerhub.core.actor import platform_actor
from partnerhub.fees.models import RecalcJob
from partnerhub.statements.tests.test_hub_statements import statement_row
from partnerhub.statements.views import month_shift
from partnerhub.testing.factories import CompanyFactory, PlanFactory, SaleItemFactory
from partnerhub.webhooks.events import event_emit
from partnerhub.webhooks.models import Delivery
from partnerhub.webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db

MISSING_ID = 2_000_000_000
ID_KINDS = {
    "plan_id": "plan",
    "company_id": "company",
    "reseller_id": "reseller",
    "item_id": "item",
    "job_id": "job",
    "api_key_id": "api_key",
    "endpoint_id": "endpoint",
    "delivery_id": "delivery",
    "statement_id": "statement",
}
# Catalog rows are shared by every tenant; a registration slug is public.
NOT_TENANT_PARAMS = {"feature_id", "slug"}
# Parameters that are not ids: a value that reaches the view.
FIXED_PARAMS = {"flag": "enabled", "action": "archive"}
# Query parameters that name an object, per URL name: (parameter, kind).
QUERY_IDS = {
    "plans:create": [("reseller", "reseller")],
    "companies:create": [("reseller", "reseller")],
    "companies:list": [("plan", "plan")],
    "web:home": [("reseller", "reseller")],
    "web:dashboard": [("reseller", "reseller")],
    "statements:home": [("reseller", "reseller")],
}
PERSONAS = {"admin_a": ("a", "b"), "viewer_a": ("a", "b"), "admin_b": ("b", "a")}


def _patterns(resolver: URLResolver, prefix: str = "", ns: str = "") -> list[tuple[str, str]]:
    found = []
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            found += _patterns(
                p, prefix + str(p.pattern), ns + (f"{p.namespace}:" if p.namespace else "")
            )
        elif isinstance(p, URLPattern):
            found.append((ns + str(p.name), prefix + str(p.pattern)))
    return found


HUB_URLS = _patterns(get_resolver("partnerhub.web.urls"))


def _params(pattern: str) -> list[str]:
    return re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", pattern) and [
        a or b for a, b in re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", pattern)
    ]


def _url(pattern: str, values: dict[str, Any]) -> str:
    # Regex groups first: their "(?P<name>" would otherwise read as a "<name>" converter.
    url = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values[m.group(1)]), pattern)
    url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), url)
    return "/" + url.replace("^", "").replace("$", "")


def _cases() -> list[Any]:
    cases = []
    for name, pattern in HUB_URLS:
        slots = [("path", p) for p in _params(pattern) if p in ID_KINDS]
        slots += [("query", q) for q, _kind in QUERY_IDS.get(name, [])]
        for where, slot in slots:
            for persona in PERSONAS:
                for method in ("get", "post"):
                    cases.append(
                        pytest.param(
                            name,
                            pattern,
                            where,
                            slot,
                            persona,
                            method,
                            id=f"{method}:{name}:{where}.{slot}:{persona}",
                        )
                    )
    return cases


def test_every_hub_url_is_covered_by_the_matrix() -> None:
    for name, pattern in HUB_URLS:
        for param in _params(pattern):
            known = param in ID_KINDS or param in NOT_TENANT_PARAMS or param in FIXED_PARAMS
            assert known, f"{name} ({pattern}): unknown parameter {param!r}"
    for name in QUERY_IDS:
        assert name in dict(HUB_URLS), name
    assert len(_cases()) > 60


@pytest.fixture
def worlds(personas: Any) -> dict[str, dict[str, int]]:
    operator = platform_actor("test-setup")

    this_month = timezone.localdate().replace(day=1)
    last_month = month_shift(this_month, -1)

    def world(reseller: Any, plan: Any, company: Any) -> dict[str, int]:
        job = RecalcJob.objects.create(reseller=reseller, company_ids=[company.pk])
        key, _raw = api_key_create(actor=operator, scope="reseller_viewer", reseller_id=reseller.pk)
        endpoint = endpoint_create(
            actor=operator, reseller_id=reseller.pk, url="https://hooks.example.com/in"
        ).endpoint
        event = event_emit(type="webhook.test", reseller_id=reseller.pk, data={})
        return {
            "endpoint": endpoint.pk,
            "delivery": Delivery.objects.get(event=event, endpoint=endpoint).pk,
            "reseller": reseller.pk,
            "plan": plan.pk,
            "company": company.pk,
            "item": SaleItemFactory(company=company).pk,
            "job": job.pk,
            "api_key": key.pk,
            # Last month's: the month the Statements page opens on, whatever today is.
            "statement": statement_row(
                reseller=reseller, company=company, start=last_month, end=this_month
            ).pk,
        }

    plan_b = PlanFactory(reseller=personas.reseller_b, name="gold-b")
    return {
        "a": world(personas.reseller_a, personas.plan_a, personas.company_a),
        "b": world(personas.reseller_b, plan_b, CompanyFactory(reseller=personas.reseller_b)),
    }


def _page(response: Any) -> tuple[int, list[str]]:
    text = response.content.decode()
    text = re.sub(r'(csrfmiddlewaretoken" value|csrf-token" content)="[^"]*"', r"\1=''", text)
    return response.status_code, text.splitlines()


def _same_answer(foreign: Any, foreign_id: int, missing: Any, missing_id: int) -> bool:
    """Same status and page; a line may differ only where it echoes the id it was given."""
    (status_f, lines_f), (status_m, lines_m) = _page(foreign), _page(missing)
    if status_f != status_m or len(lines_f) != len(lines_m):
        return False
    return all(
        re.sub(rf"\b{foreign_id}\b", "<id>", f) == re.sub(rf"\b{missing_id}\b", "<id>", m)
        for f, m in zip(lines_f, lines_m, strict=True)
        if f != m
    )


@pytest.mark.parametrize(("name", "pattern", "where", "slot", "persona", "method"), _cases())
def test_a_foreign_id_answers_exactly_as_a_missing_one_in_the_hub(
    personas, worlds, name, pattern, where, slot, persona, method
) -> None:
    own, foreign_world = PERSONAS[persona]
    kind = ID_KINDS[slot] if where == "path" else dict(QUERY_IDS[name])[slot]
    client = Client()
    client.force_login(getattr(personas, f"{persona}_user"))

    def call(value: int) -> Any:
        values: dict[str, Any] = dict(FIXED_PARAMS)
        for param in _params(pattern):
            if param in ID_KINDS:
                values[param] = worlds[own][ID_KINDS[param]]
        if where == "path":
            values[slot] = value
        url = _url(pattern, values)
        if where == "query":
            url += f"?{slot}={value}"
        return getattr(client, method)(url)

    audit_before = AuditEvent.objects.count()
    foreign = worlds[foreign_world][kind]
    foreign_answer = call(foreign)
    audit_after_foreign = AuditEvent.objects.count()
    missing_answer = call(MISSING_ID)

    assert _same_answer(foreign_answer, foreign, missing_answer, MISSING_ID), (
        foreign_answer.status_code,
        missing_answer.status_code,
    )
    assert audit_after_foreign == audit_before, "a foreign id changed something"
