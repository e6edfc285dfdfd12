"""Fixtures shared by every test: the personas of STYLE.md, an empty cache, and one
file database that threads share on SQLite (`shared_db`)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from django.db import connection, connections

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


@pytest.fixture
def shared_db(catalog_seeded: None, tmp_path: Path) -> Iterator[None]:
    """Threads need one database they all see and that makes writers wait. SQLite's
    in-memory test database is one per connection unless shared-cache, where writers fail
    instead of waiting; so on SQLite without a file test database (PARTNERHUB_TEST_DB_NAME)
    the in-memory database (schema and catalog) is copied to a file under tmp_path and
    every connection, this thread's included, opens that file for the test."""
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        yield
        return
    path = tmp_path / "threads.sqlite3"
    connection.ensure_connection()
    with closing(sqlite3.connect(path)) as target:
        connection.connection.backup(target)
    in_memory = connections["default"]
    settings = in_memory.settings_dict  # shared with every connection made from now on
    memory_name = settings["NAME"]
    settings["NAME"] = str(path)
    connections["default"] = connections.create_connection("default")
    try:
        yield
    finally:
        connections["default"].close()
        settings["NAME"] = memory_name
        connections["default"] = in_memory
