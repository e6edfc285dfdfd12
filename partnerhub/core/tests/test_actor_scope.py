"""The tenant scope is one rule (core/actor.py) for every scoped selector."""

from __future__ import annotations

import pytest
from django.db.models import Q

from partnerhub.core.actor import (
    NOTHING,
    Actor,
    Role,
    company_scope,
    company_terms,
    reseller_scope,
)

PLATFORM = Actor(role=Role.PLATFORM)
SYSTEM = Actor(role=Role.SYSTEM)
ADMIN = Actor(role=Role.RESELLER_ADMIN, reseller_id=7)
VIEWER = Actor(role=Role.RESELLER_VIEWER, reseller_id=7)
COMPANY = Actor(role=Role.COMPANY, reseller_id=7, company_id=42)
ANONYMOUS = Actor(role=Role.ANONYMOUS)


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        (PLATFORM, Q()),
        (SYSTEM, Q()),
        (ADMIN, Q(reseller_id=7)),
        (VIEWER, Q(reseller_id=7)),
        (COMPANY, NOTHING),  # reseller rows (plans, jobs) are not a company key's
        (ANONYMOUS, NOTHING),
    ],
)
def test_reseller_scope(actor: Actor, expected: Q) -> None:
    assert reseller_scope(actor) == expected


def test_reseller_scope_names_the_rows_own_field() -> None:
    assert reseller_scope(ADMIN, "endpoint__reseller_id") == Q(endpoint__reseller_id=7)


@pytest.mark.parametrize(
    ("actor", "terms", "expected"),
    [
        (PLATFORM, {}, Q()),
        (ADMIN, {"reseller_id": 7}, Q(reseller_id=7)),
        (VIEWER, {"reseller_id": 7}, Q(reseller_id=7)),
        (COMPANY, {"pk": 42}, Q(pk=42)),
        (ANONYMOUS, None, NOTHING),
    ],
)
def test_company_scope_and_its_terms_are_one_rule(
    actor: Actor, terms: dict[str, int] | None, expected: Q
) -> None:
    assert company_terms(actor) == terms
    assert company_scope(actor) == expected


def test_company_scope_on_a_row_that_belongs_to_a_company() -> None:
    fields = {"company": "company_id", "reseller": "company__reseller_id"}
    assert company_scope(COMPANY, **fields) == Q(company_id=42)
    assert company_scope(ADMIN, **fields) == Q(company__reseller_id=7)
