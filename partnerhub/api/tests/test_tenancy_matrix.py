"""The cross-tenant matrix, generated from the OpenAPI document (issue 11, STYLE.md).

Every operation x every key persona x every id it takes (path, query or body) is called
with an id the persona must not see (another reseller's object; for a company key also
another company of its own reseller) and with a missing id. The two answers must be the
same — status and body, the id itself aside (SPEC §1: a foreign id is a missing id) — and
the foreign call must write nothing.

The cases come from the document, so a new operation is in the matrix as soon as it is
routed; an id parameter of a kind this module does not know, or a body it has no
template for, fails `test_every_operation_is_covered_by_the_matrix`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from django.utils import timezone

from partnerhub.accounts.services import api_key_create
from partnerhub.api.urls import api as ninja_api
from partnerhub.audit.models import AuditEvent
from partnerhub.core.actor import platform_actor
from partnerhub.fees.jobs import recalculation_enqueue
from partnerhub.statements.models import Statement
from partnerhub.testing.factories import CompanyFactory, PlanFactory, SaleItemFactory
from partnerhub.webhooks.events import event_emit
from partnerhub.webhooks.models import Delivery
from partnerhub.webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db

SCHEMA = ninja_api.get_openapi_schema()
MISSING_ID = 2_000_000_000

# What each id parameter names. Catalog rows (features…) are shared by every tenant and
# reseller slugs are public: neither is a tenant's secret.
ID_KINDS = {
    "plan_id": "plan",
    "default_registration_plan_id": "plan",
    "object_id": "plan",  # audit events: an object of any type; a plan stands for them
    "company_id": "company",
    "reseller_id": "reseller",
    "item_id": "item",
    "job_id": "job",
    "api_key_id": "api_key",
    "endpoint_id": "endpoint",
    "delivery_id": "delivery",
    "event_id": "event",
    "statement_id": "statement",
}
# `limit` in a usage path is a catalog limit's key, shared by every tenant.
NOT_TENANT_IDS = {"feature_id", "reseller_slug", "limit"}

_SALE_ITEM = {"name": "Probe", "currency": "GBP", "fee_type": "ticket", "price_minor": 1000}
_PLAN = {
    "plan_type": "usage_based",
    "name": "probe",
    "billing_cycles": ["monthly"],
    "prices": [{"currency": "GBP", "billing_cycle": "monthly", "amount_minor": 0}],
}
# A valid body per operation that takes one, so that the handler (not the validation)
# answers; ids under test are added to it.
BODIES: dict[str, dict[str, Any]] = {
    "catalog_api_create_feature": {"key": "probe", "name": "Probe"},
    "catalog_api_update_feature": {"name": "Probe"},
    "catalog_api_create_limit": {"key": "probe", "name": "Probe"},
    "catalog_api_create_fee_type": {"key": "probe", "name": "Probe"},
    "catalog_api_create_currency": {"code": "XAU"},
    "catalog_api_set_gateway_fees": {},
    "catalog_api_set_tax": {"gst_rate_bps": 1800},
    "resellers_api_create_reseller": {"name": "Probe", "slug": "probe"},
    "resellers_api_update_reseller": {"name": "Renamed by a probe"},
    "plans_api_create_plan": _PLAN,
    "plans_api_update_plan": {"version": 1, "description": "changed by a probe"},
    "plans_api_preview_plan": {"description": "changed by a probe"},
    "plans_api_restore_plan": {"new_name": "probe"},
    "companies_api_create_company": {"name": "Probe Co"},
    "companies_api_update_company": {"name": "Renamed by a probe"},
    "companies_api_reset_plan_fees": {"fee_apply_mode": "new"},
    "fees_api_create_sale_item": _SALE_ITEM,
    "fees_api_update_sale_item": {"name": "Renamed by a probe"},
    "fees_api_quote_fees": {"currency": "GBP", "fee_type": "ticket", "price_minor": 1000},
    "registration_api_register": {"company_name": "Probe Co", "contact_email": "p@example.com"},
    "accounts_api_create_api_key": {"scope": "company"},
    "usage_api_record_usage_events": {"events": []},  # company ids inside: test_usage_api
    "usage_api_consume_usage": {"quantity": 1},
    "usage_api_set_gauge": {"value": 1},
    "sales_api_record_sales": {"sales": []},  # sale item ids inside: sales/tests
    "api_webhooks_create_webhook_endpoint": {"url": "https://probe.example.com/hook"},
    "api_webhooks_update_webhook_endpoint": {"description": "changed by a probe"},
    "api_webhooks_resend_failed_webhooks": {"since": "2026-01-01T00:00:00Z"},
}
# Where an id under test needs the rest of the body to agree with it.
SLOT_BODIES = {("accounts_api_create_api_key", "reseller_id"): {"scope": "reseller_viewer"}}

# Query parameters that give an id under test its meaning.
SLOT_QUERIES = {("audit_api_list_audit_events", "object_id"): {"object_type": "plan"}}

# Key personas: what each may see (its own world) and the worlds it must not see.
PERSONAS = {
    "admin_a": ("a", ["b"]),
    "viewer_a": ("a", ["b"]),
    "company_a": ("a", ["b", "a2"]),
    "admin_b": ("b", ["a"]),
}


def _short(operation_id: str) -> str:
    return operation_id.removeprefix("partnerhub_")


def _body_schema(op: dict[str, Any]) -> dict[str, Any]:
    if "requestBody" not in op:
        return {}
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    ref = schema.get("$ref")
    return SCHEMA["components"]["schemas"][ref.split("/")[-1]] if ref else schema


@dataclass(frozen=True)
class Slot:
    where: str  # "path", "query" or "body"
    name: str


def _slots(path: str, op: dict[str, Any]) -> list[Slot]:
    slots = [
        Slot(p["in"], p["name"])
        for p in op.get("parameters", [])
        if p["in"] == "path" or p["name"].endswith("_id")
    ]
    props = _body_schema(op).get("properties", {})
    slots += [Slot("body", name) for name in props if name.endswith("_id")]
    return slots


OPERATIONS = [
    (method, path, op)
    for path, item in SCHEMA["paths"].items()
    for method, op in item.items()
    if isinstance(op, dict) and "responses" in op
]


def _cases() -> list[Any]:
    cases = []
    for method, path, op in OPERATIONS:
        public = not op.get("security")
        for slot in _slots(path, op):
            if slot.name in NOT_TENANT_IDS:
                continue
            personas = {"anonymous": ("a", ["b"])} if public else PERSONAS
            for persona, (own, foreign_worlds) in personas.items():
                for world in foreign_worlds:
                    case_id = f"{method}:{path}:{slot.where}.{slot.name}:{persona}:{world}"
                    cases.append(
                        pytest.param(method, path, op, slot, persona, own, world, id=case_id)
                    )
    return cases


def test_every_operation_is_covered_by_the_matrix() -> None:
    for method, path, op in OPERATIONS:
        for slot in _slots(path, op):
            known = slot.name in ID_KINDS or slot.name in NOT_TENANT_IDS
            assert known, f"{method} {path}: unknown id parameter {slot.name!r}"
        if "requestBody" in op:
            assert _short(op["operationId"]) in BODIES, f"{method} {path}: no body template"
    assert len(_cases()) > 100


def _statement(company: Any) -> int:
    """A draft statement of the company (of its reseller, for the reseller's own)."""
    today = date.today()
    return Statement.objects.create(
        kind="company",
        reseller_id=company.reseller_id,
        company=company,
        currency="GBP",
        period_start=today.replace(day=1),
        period_end=today.replace(day=28),
        computed_at=timezone.now(),
    ).pk


@pytest.fixture
def worlds(personas: Any, keys: Any) -> dict[str, dict[str, int]]:
    operator = platform_actor("test-setup")

    def world(reseller: Any, plan: Any, company: Any) -> dict[str, int]:
        item = SaleItemFactory(company=company)
        job = recalculation_enqueue(
            actor=operator, reseller_id=reseller.pk, plan_id=plan.pk, reason="matrix"
        )
        key, _raw = api_key_create(actor=operator, scope="reseller_viewer", reseller_id=reseller.pk)
        endpoint = endpoint_create(
            actor=operator, reseller_id=reseller.pk, url="https://hooks.example.com/in"
        ).endpoint
        event = event_emit(type="webhook.test", reseller_id=reseller.pk, data={})
        return {
            "endpoint": endpoint.pk,
            "delivery": Delivery.objects.get(event=event, endpoint=endpoint).pk,
            "event": event.pk,
            "reseller": reseller.pk,
            "plan": plan.pk,
            "company": company.pk,
            "item": item.pk,
            "job": job.pk,
            "api_key": key.pk,
            "statement": _statement(company),
        }

    a = world(personas.reseller_a, personas.plan_a, personas.company_a)
    plan_b = PlanFactory(reseller=personas.reseller_b, name="gold-b")
    b = world(personas.reseller_b, plan_b, CompanyFactory(reseller=personas.reseller_b))
    # Reseller A's objects that are not company A's own: foreign to company A's key.
    plan_a2 = PlanFactory(reseller=personas.reseller_a, name="silver-a")
    company_a2 = CompanyFactory(reseller=personas.reseller_a, name="Other A", plan=plan_a2)
    a2 = {
        "plan": plan_a2.pk,
        "company": company_a2.pk,
        "item": SaleItemFactory(company=company_a2).pk,
        "api_key": a["api_key"],
        "job": a["job"],
        "statement": _statement(company_a2),
    }
    return {"a": a, "b": b, "a2": a2}


def _request(
    api: Any,
    keys: Any,
    method: str,
    path: str,
    op: dict[str, Any],
    slot: Slot,
    persona: str,
    own: dict[str, int],
    value: int,
) -> Any:
    url = path
    for param in re.findall(r"{(\w+)}", path):
        if param == "reseller_slug":
            url = url.replace("{reseller_slug}", "northwind")
        elif param == "limit":
            url = url.replace("{limit}", "messages")
        elif slot == Slot("path", param):
            url = url.replace(f"{{{param}}}", str(value))
        else:
            url = url.replace(f"{{{param}}}", str(own[ID_KINDS[param]]))
    key = None if persona == "anonymous" else getattr(keys, persona)
    short = _short(op["operationId"])
    if method == "get":
        params = {slot.name: value, **SLOT_QUERIES.get((short, slot.name), {})}
        return api.get(url, key, params if slot.where == "query" else {})
    body: dict[str, Any] | None = None
    if "requestBody" in op:
        body = {**BODIES[short], **SLOT_BODIES.get((short, slot.name), {})}
        if slot.where == "body":
            body[slot.name] = value
    if slot.where == "query":
        url += f"?{slot.name}={value}"
    return api.request(method, url, key, body)


def _answer(response: Any, value: int) -> tuple[int, Any]:
    text = re.sub(rf"\b{value}\b", "<id>", response.content.decode())
    try:
        return response.status_code, json.loads(text)
    except ValueError:
        return response.status_code, text


@pytest.mark.parametrize(
    ("method", "path", "op", "slot", "persona", "own_world", "foreign_world"), _cases()
)
def test_a_foreign_id_answers_exactly_as_a_missing_one(
    api, keys, worlds, settings, method, path, op, slot, persona, own_world, foreign_world
) -> None:
    settings.REGISTRATION_RATE_LIMIT = 1_000_000
    kind = ID_KINDS[slot.name]
    foreign = worlds[foreign_world].get(kind)
    if foreign is None:
        pytest.skip(f"world {foreign_world} has no {kind} foreign to {persona}")
    own = worlds[own_world]
    audit_before = AuditEvent.objects.count()

    foreign_answer = _answer(
        _request(api, keys, method, path, op, slot, persona, own, foreign), foreign
    )
    audit_after_foreign = AuditEvent.objects.count()
    missing_answer = _answer(
        _request(api, keys, method, path, op, slot, persona, own, MISSING_ID), MISSING_ID
    )

    assert foreign_answer == missing_answer
    if method != "get":
        assert audit_after_foreign == audit_before, "a foreign id changed something"
