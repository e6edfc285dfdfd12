"""Subprocesses for tests that need real processes (workers, a server) on a database of
their own: SQLite file or scratch PostgreSQL, the helpers to start them and to read it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class Db:
    """Just enough to read the scratch database from the test process."""

    def __init__(self, url: str) -> None:
        self.url = url

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        if self.url.startswith("sqlite"):
            with sqlite3.connect(self.url.removeprefix("sqlite:///")) as conn:
                return conn.execute(sql).fetchall()
        import psycopg

        with psycopg.connect(self.url) as conn:
            return conn.execute(sql).fetchall()

    def value(self, sql: str) -> Any:
        return self.rows(sql)[0][0]


@contextmanager
def scratch_postgres(suffix: str) -> Iterator[str]:
    """A fresh PostgreSQL database beside the test database, dropped afterwards: for
    subprocesses (workers, servers) that must not share the test's transaction."""
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    name = f"{(db.get('TEST') or {}).get('NAME') or 'test'}_{suffix}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    server = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def subprocess_env(url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        PARTNERHUB_DEV="1",
        DATABASE_URL=url,
        PARTNERHUB_DATA_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="partnerhub.settings",
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def run_django(env: dict[str, str], *args: str) -> str:
    """Run a management command in a subprocess; answer what it printed."""
    done = subprocess.run(
        [sys.executable, "-m", "django", *args], env=env, capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def start_process(env: dict[str, str], argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    return subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_for(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
