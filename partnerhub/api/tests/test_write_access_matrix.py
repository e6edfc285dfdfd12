"""Write access for every API operation, generated from the OpenAPI document (STYLE.md).

Every operation that is not a GET and needs a key is called by the read-only key
personas (reseller A's viewer, company A's key) on their own reseller's objects: it
answers 403 and writes nothing. The cases come from the document, so a new write
operation is in the matrix as soon as it is routed; one that a read-only key may call
must be listed below with its reason.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from partnerhub.api.tests import test_tenancy_matrix as tenancy
from partnerhub.api.tests.test_tenancy_matrix import BODIES, ID_KINDS, OPERATIONS, _short
from partnerhub.audit.models import AuditEvent
from partnerhub.catalog.models import Feature
from partnerhub.fees.models import RecalcJob

pytestmark = pytest.mark.django_db

worlds = tenancy.worlds  # the tenancy matrix's objects: world "a" is the personas' own

READ_ONLY_PERSONAS = ("viewer_a", "company_a")
# POST operations that compute an answer and write nothing: any reader may call them.
READS_BY_POST = {
    "plans_api_preview_plan": "previews an edit; writes nothing",
    "fees_api_quote_fees": "prices a sale item that is not stored",
}
# (operation, persona) a read-only key may call, and why.
ALLOWED_WRITES: dict[tuple[str, str], str] = {}
# Kinds of object a company key cannot see at all: naming one answers 404, as a missing
# one would (tenancy order, docs/architecture.md), before the write is refused.
NOT_A_COMPANYS = {"plan", "endpoint", "delivery", "event", "job"}
# Bodies that must be valid for the write check (not the validation) to answer.
WRITE_BODIES: dict[str, Any] = {
    "catalog_api_set_gateway_fees": [],
    "usage_api_record_usage_events": {
        "events": [
            {
                "id": "probe-1",
                "company_id": 0,  # company A's
                "limit": "messages",
                "quantity": 1,
                "timestamp": "2026-01-01T00:00:00Z",
            }
        ]
    },
    "sales_api_record_sales": {
        "sales": [
            {
                "id": "probe-1",
                "sale_item_id": 0,  # an item of company A's
                "quantity": 1,
                "timestamp": "2026-01-01T00:00:00Z",
            }
        ]
    },
}


def _cases() -> list[Any]:
    cases = []
    for method, path, op in OPERATIONS:
        short = _short(op["operationId"])
        if method == "get" or not op.get("security") or short in READS_BY_POST:
            continue
        for persona in READ_ONLY_PERSONAS:
            if (short, persona) not in ALLOWED_WRITES:
                cases.append(
                    pytest.param(method, path, op, persona, id=f"{method}:{path}:{persona}")
                )
    return cases


def test_every_write_operation_is_in_the_write_access_matrix() -> None:
    writes = {
        _short(op["operationId"])
        for method, _path, op in OPERATIONS
        if method != "get" and op.get("security")
    }
    assert set(READS_BY_POST) <= writes and {op for op, _ in ALLOWED_WRITES} <= writes
    in_matrix = {_short(case.values[2]["operationId"]) for case in _cases()}
    assert writes - set(READS_BY_POST) <= in_matrix | {op for op, _ in ALLOWED_WRITES}
    assert len(in_matrix) > 30


@pytest.mark.parametrize(("method", "path", "op", "persona"), _cases())
def test_a_read_only_key_cannot_write(
    api, keys, worlds, settings, method, path, op, persona
) -> None:
    settings.REGISTRATION_RATE_LIMIT = 1_000_000
    own = worlds["a"]
    short = _short(op["operationId"])
    url, kinds = path, set()
    for param in re.findall(r"{(\w+)}", path):
        if param == "limit":
            value: Any = "messages"
        elif param == "feature_id":
            value = Feature.objects.order_by("id").values_list("id", flat=True).first()
        else:
            kinds.add(ID_KINDS[param])
            value = own[ID_KINDS[param]]
        url = url.replace(f"{{{param}}}", str(value))
    body: Any = None
    if "requestBody" in op:
        body = copy.deepcopy(WRITE_BODIES.get(short, BODIES[short]))
        for name in body if isinstance(body, dict) else []:
            if name in ID_KINDS:
                body[name] = own[ID_KINDS[name]]
        for event in body.get("events", []) if isinstance(body, dict) else []:
            event["company_id"] = own["company"]
        for sale in body.get("sales", []) if isinstance(body, dict) else []:
            sale["sale_item_id"] = own["item"]
    expected = 404 if persona == "company_a" and kinds & NOT_A_COMPANYS else 403
    audit_before, jobs_before = AuditEvent.objects.count(), RecalcJob.objects.count()

    response = api.request(method, url, getattr(keys, persona), body)

    assert response.status_code == expected, response.content
    assert AuditEvent.objects.count() == audit_before, "a read-only key changed something"
    assert RecalcJob.objects.count() == jobs_before
