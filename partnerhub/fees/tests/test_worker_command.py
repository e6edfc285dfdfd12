"""`partnerhub worker --concurrency N` and `serve --job-workers N` (issue #16)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from partnerhub.fees.management.commands import worker
from partnerhub.ops.management.commands.serve import serve_options
from partnerhub.ops.processes import worker_command

CHILD = """
import pathlib, signal, sys, time
log = pathlib.Path({log!r})
starts = log.read_text().count("start") if log.exists() else 0
with log.open("a") as f:
    f.write("start\\n")
def stop(*args):
    with log.open("a") as f:
        f.write("stop\\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
if starts == 0:
    sys.exit(3)  # the first one dies at once
time.sleep(60)
"""


def test_concurrency_runs_n_workers_restarts_a_dead_one_and_stops_them_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker, "RESTART_DELAY_SECONDS", 0.05)
    log = tmp_path / "children.log"
    command = [sys.executable, "-c", CHILD.format(log=str(log))]

    def stop_when_running() -> None:
        deadline = time.monotonic() + 30
        # Three starts (one died and was restarted), then two alive: stop the supervisor.
        while time.monotonic() < deadline:
            if log.exists() and log.read_text().count("start") >= 3:
                time.sleep(0.5)
                break
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=stop_when_running, daemon=True).start()
    assert worker.supervise(command, 2, write=lambda line: None) == 0

    lines = log.read_text().split()
    starts = lines.count("start")
    assert starts >= 3
    # Every child that was still running got SIGTERM and stopped cleanly.
    assert lines.count("stop") == 2


def test_a_worker_process_of_a_concurrent_worker_runs_one_at_a_time() -> None:
    command = worker._child_command(
        {
            "queue_name": "default",
            "interval": 0.2,
            "backend_name": "default",
            "exclude_queues": "",
            "recover_every": 2.0,
            "startup_delay": False,
        }
    )
    assert command[1:6] == ["-m", "partnerhub.cli", "worker", "--concurrency", "1"]
    for flag, value in [("--queue-name", "default"), ("--interval", "0.2"),
                        ("--backend", "default"), ("--recover-every", "2.0")]:  # fmt: skip
        assert command[command.index(flag) + 1] == value
    assert "--no-startup-delay" in command


def test_concurrency_below_one_is_refused() -> None:
    with pytest.raises(CommandError, match="--concurrency"):
        call_command("worker", "--concurrency", "0")


def _serve(**given: object) -> dict[str, object]:
    options: dict[str, object] = {
        "host": "127.0.0.1",
        "port": 8000,
        "workers": 2,
        "threads": 2,
        "no_worker": False,
        "job_workers": None,
    }
    return options | given


@pytest.mark.django_db
def test_serve_starts_one_job_worker_on_sqlite_and_two_on_postgresql() -> None:
    expected = 1 if connection.vendor == "sqlite" else 2
    assert serve_options(_serve()).job_workers == expected
    assert serve_options(_serve(job_workers=4)).job_workers == 4
    with pytest.raises(CommandError, match="--job-workers"):
        serve_options(_serve(job_workers=0))
    assert worker_command(4)[-2:] == ["--concurrency", "4"]
    assert "--concurrency" not in worker_command()
