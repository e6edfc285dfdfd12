"""The OpenAPI document validates, and the Python client (clients/python) is in sync with it.

The client's typed layer is generated from a committed snapshot of the document
(clients/python/openapi.json) by clients/python/codegen.py. When an API change makes
these tests fail, refresh both with:

    .venv/bin/python clients/python/codegen.py --refresh

and commit the snapshot and the regenerated files with the change.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.test import Client
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db

CLIENT_DIR = Path(__file__).resolve().parents[3] / "clients" / "python"
REFRESH = ".venv/bin/python clients/python/codegen.py --refresh"


@pytest.fixture
def document(client: Client) -> dict[str, Any]:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _codegen() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "partnerhub_client_codegen", CLIENT_DIR / "codegen.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)  # raises on the first violation of the OpenAPI 3.1 schema
    assert document["openapi"].startswith("3.1")


def test_an_invalid_document_is_caught() -> None:
    """The validator is live: a reference to no schema fails it."""
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    broken = {
        "openapi": "3.1.0",
        "info": {"title": "x", "version": "1"},
        "paths": {
            "/x": {
                "get": {
                    "responses": {"200": {"description": "ok"}},
                    "parameters": [{"in": "nowhere"}],
                }
            }
        },
    }
    with pytest.raises(OpenAPIValidationError):
        validate(broken)


def test_the_client_snapshot_is_the_live_document(document: dict[str, Any]) -> None:
    snapshot = json.loads((CLIENT_DIR / "openapi.json").read_text())
    assert snapshot == document, f"clients/python/openapi.json is out of date: run {REFRESH}"


def test_the_generated_client_is_what_the_snapshot_makes() -> None:
    codegen = _codegen()
    document = json.loads(codegen.SNAPSHOT.read_text())
    for path, text in codegen.outputs(document).items():
        assert path.read_text() == text, f"{path.name} is out of date: run {REFRESH}"


def test_every_operation_has_a_client_method(document: dict[str, Any]) -> None:
    codegen = _codegen()
    generated = (CLIENT_DIR / "src" / "partnerhub_client" / "_operations.py").read_text()
    for item in document["paths"].values():
        for operation in item.values():
            assert f"def {codegen._method_name(operation)}(" in generated
