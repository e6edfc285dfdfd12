"""Issue #13's last gaps, without a browser: the rules only a service used to check (a
taken key, slug or currency) show with every other error in one submit, and every audit
action the code writes reads as its own sentence."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client

from partnerhub.audit import text
from partnerhub.catalog.models import Currency, Feature, FeeType, Limit
from partnerhub.core import wording
from partnerhub.fees.models import RecalcJob
from partnerhub.resellers.models import Reseller
from partnerhub.statements.models import CloseJob
from partnerhub.testing.formpost import posted

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(personas: Any) -> Client:
    client = Client()
    client.force_login(personas.platform_user)
    return client


def _errors(response: Any, form: str) -> dict[str, list[str]]:
    return {name: list(errors) for name, errors in response.context[form].errors.items()}


def test_a_taken_catalog_key_shows_with_the_other_errors(operator: Client) -> None:
    Feature.objects.get_or_create(key="seat-maps", defaults={"name": "Seat maps"})
    Limit.objects.get_or_create(key="scanners", defaults={"name": "Scanners"})
    FeeType.objects.get_or_create(key="parking", defaults={"name": "Parking"})
    features, limits, fee_types = (
        Feature.objects.count(),
        Limit.objects.count(),
        FeeType.objects.count(),
    )
    feature = operator.post(
        "/catalog/", {"form": "feature", "feature-key": "seat-maps", "feature-name": "  "}
    )
    assert _errors(feature, "feature_form") == {
        "key": [wording.taken("key")],
        "name": ["This field is required."],
    }
    limit = operator.post(
        "/catalog/",
        {"form": "limit", "limit-key": "scanners", "limit-name": "", "limit-period": "none"},
    )
    assert _errors(limit, "limit_form") == {
        "key": [wording.taken("key")],
        "name": ["This field is required."],
    }
    fee_type = operator.post(
        "/catalog/", {"form": "fee_type", "fee_type-key": "parking", "fee_type-name": ""}
    )
    assert _errors(fee_type, "fee_type_form")["key"] == [wording.taken("key")]
    # A key the service would refuse for its shape says so at once, in words.
    shape = operator.post(
        "/catalog/", {"form": "feature", "feature-key": "Seat_Maps", "feature-name": ""}
    )
    assert _errors(shape, "feature_form")["key"] == [wording.KEY_SHAPE]
    assert (Feature.objects.count(), Limit.objects.count(), FeeType.objects.count()) == (
        features,
        limits,
        fee_types,
    )
    # A free key still saves.
    saved = operator.post(
        "/catalog/", {"form": "feature", "feature-key": "seat-maps-2", "feature-name": "Maps"}
    )
    assert saved.status_code == 302
    assert Feature.objects.filter(key="seat-maps-2").exists()


def test_a_currency_already_listed_or_unknown_says_so_at_its_field(operator: Client) -> None:
    Currency.objects.get_or_create(code="GBP", defaults={"name": "British Pound"})
    listed = operator.post("/catalog/", {"form": "currency", "currency-code": "gbp"})
    assert _errors(listed, "currency_form") == {"code": [wording.CURRENCY_TAKEN]}
    unknown = operator.post("/catalog/", {"form": "currency", "currency-code": "ZZZ"})
    assert _errors(unknown, "currency_form") == {"code": [wording.UNKNOWN_CURRENCY]}
    assert not Currency.objects.filter(code="ZZZ").exists()


def test_a_taken_reseller_slug_shows_with_the_other_errors(operator: Client, personas: Any) -> None:
    count = Reseller.objects.count()
    new = operator.post("/resellers/new/", {"name": " ", "slug": "southwind"})
    assert _errors(new, "form") == {
        "name": ["This field is required."],
        "slug": [wording.taken("slug")],
    }
    assert Reseller.objects.count() == count

    reseller = personas.reseller_a
    page = operator.get(f"/resellers/{reseller.pk}/").content.decode()
    edit = operator.post(
        f"/resellers/{reseller.pk}/", posted(page, {"name": "", "slug": "southwind"})
    )
    assert _errors(edit, "form") == {
        "name": ["This field is required."],
        "slug": [wording.taken("slug")],
    }
    reseller.refresh_from_db()
    assert reseller.slug == "northwind"
    # Its own slug is not "taken".
    kept = operator.post(f"/resellers/{reseller.pk}/", posted(page, {"name": "Northwind 2"}))
    assert kept.status_code == 302
    reseller.refresh_from_db()
    assert (reseller.name, reseller.slug) == ("Northwind 2", "northwind")


# ---- every audit action reads as a sentence ------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
ACTION = re.compile(r"^[a-z][a-z_]*\.[a-z_]+$")
# Jobs that audit their status as `action=f"<prefix>{status}"`.
JOB_STATUSES = {"job.": RecalcJob.Status.values, "close_job.": CloseJob.Status.values}
# Helpers that pass their string argument on as the audit action.
ACTION_HELPERS = {"_audit", "_set_flag"}


def _written_actions() -> set[str]:
    """Every audit action the code writes: `action="x.y"` keywords, the action argument of
    the apps' audit helpers, and `action=f"job.{status}"` (recalculation) and
    `action=f"close_job.{status}"` (statements) for each job status."""
    found: set[str] = set()
    for path in ROOT.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            values: list[ast.expr] = [k.value for k in node.keywords if k.arg == "action"]
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name in ACTION_HELPERS:
                values += node.args
            for value in values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    if ACTION.match(value.value):
                        found.add(value.value)
                elif isinstance(value, ast.JoinedStr):
                    prefix = "".join(
                        str(v.value) for v in value.values if isinstance(v, ast.Constant)
                    )
                    statuses = JOB_STATUSES.get(prefix)
                    assert statuses, f"an audit action built at run time: {path}"
                    found.update(f"{prefix}{status}" for status in statuses)
    return found


def test_the_scan_finds_the_actions_written_through_helpers() -> None:
    actions = _written_actions()
    # Keywords, the catalog's and webhooks' `_audit(actor, "…")`, plans' `_set_flag`, jobs.
    assert {"plan.update", "feature.create", "webhook_endpoint.delete", "plan.set_visible"} <= (
        actions
    )
    assert "job.succeeded" in actions and "job.failed" in actions
    assert len(actions) >= 40


def test_every_audit_action_the_code_writes_has_a_sentence() -> None:
    missing = sorted(_written_actions() - set(text.ACTION_SENTENCES))
    assert not missing, f"give these audit actions a sentence in audit/text.py: {missing}"


@pytest.mark.parametrize("action", sorted(text.ACTION_SENTENCES))
def test_each_sentence_names_the_object_in_words(action: str) -> None:
    event = SimpleNamespace(
        action=action,
        object_type=action.split(".")[0],
        object_id=7,
        object_repr="Starter",
        actor_label="user:northwind-admin",
        actor_role="admin",
        changes={},
    )
    line = text.audit_line(event)
    assert line.actor == "northwind-admin"
    assert len(line.sentences) == 1
    sentence = line.sentences[0]
    assert "_" not in sentence and "." not in sentence  # no machine words
    if "{name}" in text.ACTION_SENTENCES[action]:
        assert "Starter" in sentence


def test_a_platform_setting_reads_without_naming_itself_twice() -> None:
    def line(action: str, changes: dict[str, Any]) -> list[str]:
        event = SimpleNamespace(
            action=action,
            object_type=action.split(".")[0],
            object_id=None,
            object_repr=action.split(".")[0].replace("_", " "),
            actor_label="user:operator",
            actor_role="platform",
            changes=changes,
        )
        return text.audit_line(event).sentences

    assert line("tax.set", {"gst_rate_bps": {"old": 1000, "new": 1250}}) == [
        "changed the GST rate from 10 % to 12.5 %"
    ]
    assert line("gateway_fees.set", {"entries": {"old": [], "new": [{}]}}) == [
        "changed the gateway fees"
    ]
    assert line("plan.set_visible", {"visible": {"old": True, "new": False}}) == [
        "hid the plan plan"
    ]
