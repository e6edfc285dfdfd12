"""The OpenAPI document: 3.1, every resource of SPEC §9, every body and response typed."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db

SPEC_OPERATIONS = {
    ("get", "/api/v1/features"),
    ("post", "/api/v1/features"),
    ("patch", "/api/v1/features/{feature_id}"),
    ("get", "/api/v1/limits"),
    ("post", "/api/v1/limits"),
    ("get", "/api/v1/fee-types"),
    ("post", "/api/v1/fee-types"),
    ("get", "/api/v1/currencies"),
    ("post", "/api/v1/currencies"),
    ("get", "/api/v1/gateway-fees"),
    ("put", "/api/v1/gateway-fees"),
    ("get", "/api/v1/tax"),
    ("put", "/api/v1/tax"),
    ("get", "/api/v1/plans"),
    ("post", "/api/v1/plans"),
    ("get", "/api/v1/plans/{plan_id}"),
    ("patch", "/api/v1/plans/{plan_id}"),
    ("delete", "/api/v1/plans/{plan_id}"),
    ("post", "/api/v1/plans/{plan_id}/duplicate"),
    ("post", "/api/v1/plans/{plan_id}/archive"),
    ("post", "/api/v1/plans/{plan_id}/unarchive"),
    ("post", "/api/v1/plans/{plan_id}/restore"),
    ("post", "/api/v1/plans/{plan_id}/preview"),
    ("get", "/api/v1/companies"),
    ("post", "/api/v1/companies"),
    ("get", "/api/v1/companies/{company_id}"),
    ("patch", "/api/v1/companies/{company_id}"),
    ("get", "/api/v1/companies/{company_id}/entitlements"),
    ("post", "/api/v1/companies/{company_id}/reset-plan-fees"),
    ("post", "/api/v1/companies/{company_id}/resync-plan"),
    ("get", "/api/v1/companies/{company_id}/sale-items"),
    ("post", "/api/v1/companies/{company_id}/sale-items"),
    ("get", "/api/v1/sale-items/{item_id}"),
    ("patch", "/api/v1/sale-items/{item_id}"),
    ("post", "/api/v1/fees/quote"),
    ("get", "/api/v1/jobs"),
    ("get", "/api/v1/jobs/{job_id}"),
}


@pytest.fixture
def schema(api) -> dict[str, Any]:
    response = api.get("/api/openapi.json", None)
    assert response.status_code == 200
    return response.json()


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op) for path, item in schema["paths"].items() for method, op in item.items()
    ]


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        return schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    if node.get("type") == "array":
        return _resolve(schema, node["items"])
    if "anyOf" in node:  # an optional body: the model or null
        (model,) = [n for n in node["anyOf"] if n.get("type") != "null"]
        return _resolve(schema, model)
    return node


def test_the_document_is_openapi_3_1(schema) -> None:
    assert schema["openapi"] == "3.1.0"


def test_docs_are_served(api) -> None:
    response = api.get("/api/docs", None)

    assert response.status_code == 200
    assert b"openapi.json" in response.content


def test_every_resource_of_the_spec_is_documented(schema) -> None:
    documented = {(method, path) for method, path, _ in _operations(schema)}

    assert SPEC_OPERATIONS - documented == set()


def test_every_request_body_is_a_closed_model(schema) -> None:
    for method, path, op in _operations(schema):
        if "requestBody" not in op:
            continue
        body = op["requestBody"]["content"]["application/json"]["schema"]
        model = _resolve(schema, body)
        assert model.get("properties"), (method, path)
        assert model.get("additionalProperties") is False, (method, path)


def test_every_response_is_a_typed_model(schema) -> None:
    for method, path, op in _operations(schema):
        for status, response in op["responses"].items():
            if status == "304":
                continue
            model = _resolve(schema, response["content"]["application/json"]["schema"])
            assert model.get("properties"), (method, path, status)


def test_every_authenticated_operation_documents_401_in_the_error_shape(schema) -> None:
    for method, path, op in _operations(schema):
        if not op.get("security"):
            continue
        ref = op["responses"]["401"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/ErrorOut"), (method, path)


def test_every_link_targets_a_documented_operation_and_parameter(schema) -> None:
    by_id = {op["operationId"]: op for _, _, op in _operations(schema)}
    found = 0
    for _, _, op in _operations(schema):
        for response in op["responses"].values():
            for link in response.get("links", {}).values():
                target = by_id[link["operationId"]]
                names = {p["name"] for p in target.get("parameters", [])}
                assert set(link["parameters"]) <= names, link
                found += 1
    assert found >= 20


def test_the_project_urlconf_serves_the_api_under_api(client, keys) -> None:
    # Not the API-only URLconf of the other tests: the one partnerhub serve runs.
    document = client.get("/api/openapi.json")
    ping = client.get("/api/v1/ping", headers={"Authorization": f"Bearer {keys.platform}"})

    assert document.status_code == 200
    assert document.json()["info"]["title"] == "Partnerhub API"
    assert ping.json() == {"ok": True}
