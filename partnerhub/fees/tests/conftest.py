"""Fixtures of the fee tests that start real processes (see testing/processes.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from partnerhub.testing.processes import scratch_postgres


def _on_postgresql() -> bool:
    return bool(settings.DATABASES["default"]["ENGINE"].endswith("postgresql"))


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(
                not _on_postgresql(), reason="DATABASE_URL does not point at PostgreSQL"
            ),
        ),
    ]
)
def scratch_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of the test's own that subprocesses open: a file SQLite database, and,
    when the suite runs on PostgreSQL, a scratch PostgreSQL database on the same server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'scratch.sqlite3'}"
        return
    with scratch_postgres("scratch") as url:
        yield url
