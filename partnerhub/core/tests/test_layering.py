"""Imports point one way (docs/architecture.md, "Layers"): the import-linter contracts in
pyproject.toml hold for the code as it is, each of them fails when a lower layer
imports a higher one (or an import closes a cycle), and no module is in an import cycle."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import grimp
import pytest
from importlinter.api import read_configuration
from importlinter.contracts.acyclic_siblings import AcyclicSiblingsContract
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.layers import LayersContract
from importlinter.contracts.protected import ProtectedContract

PYPROJECT = Path(__file__).resolve().parents[3] / "pyproject.toml"
CONTRACT_TYPES: dict[str, Any] = {
    "layers": LayersContract,
    "forbidden": ForbiddenContract,
    "protected": ProtectedContract,
    "acyclic_siblings": AcyclicSiblingsContract,
}


@pytest.fixture(scope="module")
def contracts() -> dict[str, Any]:
    options = read_configuration(str(PYPROJECT))
    built = {}
    for raw in options["contracts_options"]:
        raw = dict(raw)
        name, kind = raw.pop("name"), raw.pop("type")
        built[kind] = CONTRACT_TYPES[kind](
            name=name, session_options=options["session_options"], contract_options=raw
        )
    assert set(built) == set(CONTRACT_TYPES), "a contract type without a case here"
    return built


@pytest.fixture
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("partnerhub", cache_dir=None)


def test_every_contract_holds(contracts: dict[str, Any], graph: grimp.ImportGraph) -> None:
    for contract in contracts.values():
        assert contract.check(graph, verbose=False).kept, contract.name


@pytest.mark.parametrize(
    ("kind", "importer", "imported"),
    [
        # an app reaching up into an interface package
        ("layers", "partnerhub.plans.services", "partnerhub.api.urls"),
        ("layers", "partnerhub.companies.views", "partnerhub.web.views"),
        # an interface package reaching up into ops
        ("layers", "partnerhub.web.views", "partnerhub.ops.demo_data"),
        # the toolkit importing an app
        ("forbidden", "partnerhub.core.money", "partnerhub.catalog.models"),
        # a domain module importing an interface module (its own app's or another's)
        ("protected", "partnerhub.plans.services", "partnerhub.plans.forms"),
        ("protected", "partnerhub.fees.selectors", "partnerhub.accounts.hub"),
        ("protected", "partnerhub.usage.models", "partnerhub.companies.api"),
        # a new arrow back up between apps (fees imports audit), and a cycle inside an app
        ("acyclic_siblings", "partnerhub.audit.services", "partnerhub.fees.models"),
        # companies reaching past the webhooks outbox call (announce imports companies)
        ("acyclic_siblings", "partnerhub.companies.services", "partnerhub.webhooks.announce"),
        ("acyclic_siblings", "partnerhub.fees.schedules", "partnerhub.fees.apply"),
    ],
)
def test_a_lower_layer_importing_a_higher_one_breaks_a_contract(
    contracts: dict[str, Any], graph: grimp.ImportGraph, kind: str, importer: str, imported: str
) -> None:
    graph.add_import(importer=importer, imported=imported, line_number=1, line_contents="x")
    assert not contracts[kind].check(graph, verbose=False).kept


def test_a_test_module_may_import_any_layer(
    contracts: dict[str, Any], graph: grimp.ImportGraph
) -> None:
    graph.add_import(
        importer="partnerhub.plans.tests.test_plan_services",
        imported="partnerhub.web.views",
        line_number=1,
        line_contents="x",
    )
    assert contracts["layers"].check(graph, verbose=False).kept


def _modules_in_cycles(graph: grimp.ImportGraph) -> set[str]:
    """Modules (tests and test helpers left out) from which an import chain leads back to
    them: the app-level contract cannot see a circle that runs through an arrow it lists."""
    kept = {
        m for m in graph.modules if ".tests" not in m and not m.startswith("partnerhub.testing")
    }
    return {
        importer
        for importer in kept
        for imported in graph.find_modules_directly_imported_by(importer) & kept
        if graph.find_shortest_chain(importer=imported, imported=importer) is not None
    }


def test_no_module_is_in_an_import_cycle(graph: grimp.ImportGraph) -> None:
    """Issue 23: companies/selectors -> fees/apply -> fees/jobs -> fees/tasks -> fees/recalc
    -> webhooks/announce -> companies/cache -> companies/selectors was such a circle."""
    assert _modules_in_cycles(graph) == set()


def test_an_import_cycle_is_found(graph: grimp.ImportGraph) -> None:
    graph.add_import(
        importer="partnerhub.fees.schedules",
        imported="partnerhub.companies.selectors",
        line_number=1,
        line_contents="x",
    )
    assert {"partnerhub.fees.schedules", "partnerhub.companies.selectors"} <= (
        _modules_in_cycles(graph)
    )


def test_no_view_or_endpoint_shadows_a_service_or_selector_name() -> None:
    """`plan_create` is the service; the hub page that calls it is `plan_new` (issue 12):
    a reader never has to ask which of the two a name means."""
    root = PYPROJECT.parent / "partnerhub"

    def functions(pattern: str) -> dict[str, Path]:
        found = {}
        for path in root.glob(pattern):
            for node in ast.parse(path.read_text()).body:
                if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                    found[node.name] = path
        return found

    domain = functions("*/services.py") | functions("*/selectors.py")
    interface = functions("*/views.py") | functions("*/api.py") | functions("api/*.py")
    interface |= {n: p for n, p in functions("web/*.py").items() if p.name != "selectors.py"}
    shadowing = {name: str(path) for name, path in interface.items() if name in domain}
    assert shadowing == {}


def _unexplained_function_imports(source: str) -> list[int]:
    """Lines of imports of partnerhub inside a function with no comment on the line or
    the line above saying why the import is not at the top."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.ImportFrom):
                modules = [inner.module or ""]
            elif isinstance(inner, ast.Import):
                modules = [alias.name for alias in inner.names]
            else:
                continue
            if not any(m == "partnerhub" or m.startswith("partnerhub.") for m in modules):
                continue
            here, above = lines[inner.lineno - 1], lines[inner.lineno - 2]
            if "#" not in here and not above.strip().startswith("#"):
                found.append(inner.lineno)
    return found


def test_a_function_level_import_says_why_it_is_not_at_the_top() -> None:
    """Issue 12: function-level imports mostly dodged cycles the layering removed. One
    that must stay (a real cycle, an AppConfig.ready signal hook) says why in a comment."""
    root = PYPROJECT.parent / "partnerhub"
    unexplained = {}
    for path in root.rglob("*.py"):
        relative = path.relative_to(root)
        if {"tests", "testing", "migrations"} & set(relative.parts):
            continue
        if lines := _unexplained_function_imports(path.read_text()):
            unexplained[str(relative)] = lines
    assert unexplained == {}


def test_an_unexplained_function_level_import_is_found() -> None:
    source = (
        "def f():\n"
        "    from partnerhub.core import money\n"
        "    import partnerhub.core.errors\n"
        "    # the settings module imports this one\n"
        "    from partnerhub import settings\n"
        "    from partnerhub.core import actor  # cycle: actor imports this\n"
        "    from django.db import connection\n"
    )
    assert _unexplained_function_imports(source) == [2, 3]
