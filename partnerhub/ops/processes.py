"""Run the web server (granian) and the job worker as child processes, and stop them cleanly.

Children run in their own session so a Ctrl-C in the terminal reaches only
this supervisor, which forwards it once; if either child dies, the other is
stopped too, so a half-running installation never lingers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

STOP_GRACE_SECONDS = 15


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    # Requests one web process handles at once (granian's blocking threads). Django
    # spends most of a request waiting on the database; more threads than a few dozen
    # only queue on the connection (and on SQLite's single writer).
    threads: int = 8
    with_worker: bool = True


def web_command(options: ServeOptions) -> list[str]:
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--host",
        options.host,
        "--port",
        str(options.port),
        "--workers",
        str(options.workers),
        "--blocking-threads",
        str(options.threads),
        "--no-ws",
        "partnerhub.wsgi:application",
    ]


def worker_command() -> list[str]:
    return [sys.executable, "-m", "partnerhub.cli", "worker"]


def _stop(children: list[subprocess.Popen[bytes]], signum: int) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signum)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            # A recalculation job is resumable: a worker killed mid-chunk loses nothing.
            child.kill()
            child.wait()


def run_services(
    options: ServeOptions, *, write: Callable[[str], object] = print, poll: float = 0.5
) -> int:
    """Start web (+ worker) and supervise them until a signal or a child's exit."""
    env = os.environ.copy()
    children = [subprocess.Popen(web_command(options), env=env, start_new_session=True)]
    if options.with_worker:
        children.append(subprocess.Popen(worker_command(), env=env, start_new_session=True))
    received: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not received and all(c.poll() is None for c in children):
            time.sleep(poll)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if received:
            write("Stopping…")
        _stop(children, received[0] if received else signal.SIGTERM)
    if received:
        return 0
    failed = [c for c in children if c.returncode not in (0, None)]
    return failed[0].returncode if failed else 1
