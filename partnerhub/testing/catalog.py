"""The catalog every installation starts with, for tests that flush the database."""

from __future__ import annotations

import importlib

from django.apps import apps

# Every catalog data migration, in order: each is idempotent and written for its own
# historical models, so running them again on a flushed database rebuilds the seeded rows.
_SEEDS = (
    ("partnerhub.catalog.migrations.0002_seed_catalog", "seed"),
    ("partnerhub.catalog.migrations.0003_limit_kind", "set_kinds"),
)


def catalog_reseed() -> None:
    """Put the seeded catalog back after a transactional test flushed it."""
    for module, function in _SEEDS:
        getattr(importlib.import_module(module), function)(apps, None)
