"""Run the web server (granian) and the job worker(s) as child processes, and stop them cleanly.

Children run in their own session so a Ctrl-C in the terminal reaches only
this supervisor, which forwards it once; if either child dies, the other is
stopped too, so a half-running installation never lingers.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

STOP_GRACE_SECONDS = 15


# Requests one web process handles at once (granian's blocking threads). Two lets a
# process run one request while another waits on the database. More only queue on
# the GIL: at 32 connections on 2 cores, 5 threads per process (the old default)
# served 6-7 % fewer requests than 2, and the entitlements p99 went from 18 to 27 ms
# (docs/benchmarks.md, REST API).
DEFAULT_THREADS = 2


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    threads: int = DEFAULT_THREADS
    with_worker: bool = True
    # Job worker processes (`partnerhub worker --concurrency N`); None: the worker's own default.
    job_workers: int | None = None


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
        # A web process that dies (out of memory, a crash in a C extension) is replaced
        # instead of leaving the server with one process less until someone notices.
        "--respawn-failed-workers",
        "partnerhub.wsgi:application",
    ]


def worker_command(concurrency: int | None = None) -> list[str]:
    command = [sys.executable, "-m", "partnerhub.cli", "worker"]
    if concurrency is not None:
        command += ["--concurrency", str(concurrency)]
    return command


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


def _accepts_connections(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def run_services(
    options: ServeOptions,
    *,
    write: Callable[[str], object] = print,
    on_ready: Callable[[], object] | None = None,
    poll: float = 0.5,
) -> int:
    """Start web (+ worker) and supervise them until a signal or a child's exit.

    `on_ready` runs once the web server accepts connections (the demo prints how
    to log in then, below the servers' start-up lines).
    """
    received: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    # Handlers first: a Ctrl-C while the children start must still reach them.
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    env = os.environ.copy()
    children: list[subprocess.Popen[bytes]] = []
    try:
        children.append(subprocess.Popen(web_command(options), env=env, start_new_session=True))
        if options.with_worker:
            worker = (
                worker_command()
                if options.job_workers is None
                else worker_command(options.job_workers)
            )
            children.append(subprocess.Popen(worker, env=env, start_new_session=True))
        ready = on_ready is None
        while not received and all(c.poll() is None for c in children):
            if not ready and _accepts_connections(options.host, options.port):
                ready = True
                on_ready()  # type: ignore[misc]
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
