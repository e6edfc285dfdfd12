"""Fixtures shared by every test: the personas of STYLE.md."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("PARTNERHUB_DEV", "1")


@pytest.fixture
def personas(db):  # type: ignore[no-untyped-def]
    from partnerhub.testing.personas import build_personas

    return build_personas()
