"""A scratch database for a benchmark run, and small timing helpers."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Where every bench script writes its results and logs; not in a fresh clone.
OUTPUT_DIR = ROOT / "data" / "bench"


def output_path(filename: str, *, folder: Path | None = None) -> Path:
    """A file in the bench output folder, which is created if missing (a fresh clone has
    no data/ at all, and a PostgreSQL run never makes it for a SQLite file)."""
    folder = OUTPUT_DIR if folder is None else folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder / filename


def write_result(name: str, result: dict[str, Any], *, folder: Path | None = None) -> Path:
    """Write a run's result as data/bench/<name>.json and answer the path."""
    out = output_path(f"{name}.json", folder=folder)
    out.write_text(json.dumps(result, indent=2))
    return out


def scratch_database_url(kind: str, name: str, *, reuse: bool = False) -> str:
    """A fresh, empty database: a SQLite file under data/bench, or a PostgreSQL database
    created next to the one DATABASE_URL points at (dropped first if it exists).
    With `reuse`, the database of an earlier run with the same name, as it is."""
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if kind == "sqlite":
        path = output_path(f"{name}.sqlite3")
        if reuse:
            return f"sqlite:///{path}"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    import psycopg

    server = base.rsplit("/", 1)[0]
    if reuse:
        return f"{server}/{name}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


def django_env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(PARTNERHUB_DEV="1", DATABASE_URL=url, DJANGO_SETTINGS_MODULE="partnerhub.settings")
    env.setdefault("LOG_LEVEL", "WARNING")
    return env


def manage(url: str, *args: str) -> float:
    """Run a Django command in a subprocess; returns its wall time in seconds."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "django", *args], env=django_env(url), check=True, cwd=ROOT
    )
    return time.perf_counter() - started


def median_ms(fn: Callable[[int], object], runs: int) -> float:
    samples = []
    for i in range(runs):
        started = time.perf_counter_ns()
        fn(i)
        samples.append((time.perf_counter_ns() - started) / 1e6)
    return statistics.median(samples)


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set size (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return f"{model}, {os.cpu_count()} cores, {mem_kb / 1024 / 1024:.0f} GB RAM"
