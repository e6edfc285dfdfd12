"""Fixtures shared by every test: the personas of STYLE.md, and an empty cache."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("PARTNERHUB_DEV", "1")


@pytest.fixture
def personas(db):  # type: ignore[no-untyped-def]
    from partnerhub.testing.personas import build_personas

    return build_personas()


@pytest.fixture
def catalog_seeded(transactional_db):  # type: ignore[no-untyped-def]
    """Transactional and live-server tests flush the database, seeded catalog included:
    put it back as a fresh installation has it."""
    from partnerhub.testing.catalog import catalog_reseed

    catalog_reseed()


@pytest.fixture(autouse=True)
def _empty_cache():  # type: ignore[no-untyped-def]
    """Every test starts with an empty cache: a rolled-back database can hand out the same
    ids and versions again, and an entry left by an earlier test must not answer for them."""
    from django.core.cache import cache

    from partnerhub.core.versioned_cache import versioned_clear_local

    cache.clear()
    versioned_clear_local()
    yield
    cache.clear()
    versioned_clear_local()
