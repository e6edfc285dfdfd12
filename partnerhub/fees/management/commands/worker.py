"""`partnerhub worker`: the django-tasks-db worker plus recovery of jobs whose worker died,
and help for running recalculation jobs.

A SIGKILLed worker leaves its task "running" in the task table forever; the
task table cannot tell a dead worker from a slow one. Our own job rows can (a
heartbeat per chunk, and the owner's host:pid), so a thread here re-enqueues
such jobs, and the worker loop then claims them like any other task.

A recalculation job's chunks are rows any worker can claim (fees/recalc/). A
thread here polls for running jobs with free chunks and runs them while this
process runs no job of its own, so every worker process, on this machine or
another sharing the database, works on the job in flight. `--concurrency N`
starts N such worker processes under this one.

On PostgreSQL a listener thread (fees/wakeup.py) ends both idle waits — the task
loop's and the help loop's — as soon as a job is enqueued or its chunks are planned,
so neither a job's start nor a helper's join waits for the next poll.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.db import close_old_connections, connection
from django_tasks_db.management.commands import db_worker
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from partnerhub.fees.jobs import recalculation_recover_stale
from partnerhub.fees.recalc import recalculation_help
from partnerhub.fees.wakeup import Wakeup, listen_loop, notifications_supported
from partnerhub.webhooks.worker import webhooks_thread

logger = logging.getLogger(__name__)

# How often an idle worker looks for running jobs with free chunks.
HELP_POLL_SECONDS = 0.2
# A child worker that dies is restarted after this long (a crash loop stays slow).
RESTART_DELAY_SECONDS = 1.0
STOP_GRACE_SECONDS = 20


def _recovery_loop(every: float, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            close_old_connections()
            recalculation_recover_stale()
        except Exception:  # keep recovering; the next round retries
            logger.exception("Stale job recovery failed")
        finally:
            connection.close()
        stop.wait(every)


def _help_loop(every: float, stop: threading.Event, wakeup: Wakeup) -> None:
    """Join running recalculation jobs (the connection is kept between idle polls)."""
    while not stop.is_set():
        ran = 0
        mark = wakeup.mark()
        try:
            close_old_connections()
            ran = recalculation_help()
        except Exception:
            logger.exception("Helping recalculation jobs failed")
            connection.close()
        if not ran:
            wakeup.wait(every, since=mark)
    connection.close()


class _WakeableTime:
    """The `time` module as django-tasks-db's worker loop sees it, except that its idle
    `time.sleep(interval)` ends early when `wakeup` is woken. The library has no hook
    for its idle wait; this replaces the module's `time` in this worker process only."""

    def __init__(self, wakeup: Wakeup) -> None:
        self._wakeup = wakeup

    def sleep(self, seconds: float) -> None:
        self._wakeup.wait(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def _wake_task_loop_on(wakeup: Wakeup) -> None:
    db_worker.time = _WakeableTime(wakeup)  # type: ignore[assignment,attr-defined]


def _child_command(options: dict[str, Any]) -> list[str]:
    """The command line of one worker process of a `--concurrency N` worker."""
    command = [sys.executable, "-m", "partnerhub.cli", "worker", "--concurrency", "1"]
    command += ["--queue-name", options["queue_name"], "--interval", str(options["interval"])]
    command += ["--backend", options["backend_name"]]
    if options.get("exclude_queues"):
        command += ["--exclude-queues", options["exclude_queues"]]
    if options.get("recover_every"):
        command += ["--recover-every", str(options["recover_every"])]
    if options.get("no_help"):
        command.append("--no-help")
    if not options.get("startup_delay", True):
        command.append("--no-startup-delay")
    return command


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the child gets SIGTERM if the supervisor dies (even by SIGKILL)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def supervise(command: list[str], count: int, *, write: Any = print) -> int:
    """Run `count` copies of `command`, restart any that dies, stop them all on a signal."""
    received: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(command, preexec_fn=_die_with_parent)

    children = [start() for _ in range(count)]
    try:
        while not received:
            for i, child in enumerate(children):
                if child.poll() is not None and not received:
                    write(f"worker {child.pid} exited with {child.returncode}; restarting")
                    time.sleep(RESTART_DELAY_SECONDS)
                    children[i] = start()
            time.sleep(0.2)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for child in children:
            if child.poll() is None:
                child.send_signal(received[0] if received else signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()  # a recalculation chunk rolls back and is taken by another
                child.wait()
    return 0


class Command(DbWorkerCommand):
    help = (
        "Run the job worker (fee recalculations), recovering jobs whose worker died and "
        "helping running jobs; --concurrency N runs N worker processes."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--recover-every",
            type=float,
            default=None,
            help="Seconds between checks for jobs whose worker is gone "
            "(default: a third of RECALC_STALE_SECONDS, at most 10).",
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=1,
            help="Worker processes to run (default 1). Each runs one task or one "
            "recalculation chunk at a time; on PostgreSQL the chunks of one job spread "
            "over all of them. On SQLite one writer runs at a time: keep 1.",
        )
        parser.add_argument(
            "--no-help",
            action="store_true",
            help="Do not join recalculation jobs other workers started.",
        )
        # A short poll keeps a job's start latency small next to its run time;
        # never reload in a worker (a reload would kill the running chunk).
        parser.set_defaults(interval=0.2, reload=False)

    def handle(self, *args: Any, **options: Any) -> None:
        concurrency = options.pop("concurrency")
        if concurrency < 1:
            raise CommandError("--concurrency must be at least 1")
        if concurrency > 1:
            self.stdout.write(f"Starting {concurrency} worker processes")
            sys.exit(supervise(_child_command(options), concurrency, write=self.stdout.write))
        every = options.pop("recover_every", None) or min(
            10.0, max(0.5, settings.RECALC_STALE_SECONDS / 3)
        )
        no_help = options.pop("no_help", False)
        stop = threading.Event()
        thread = threading.Thread(
            target=_recovery_loop, args=(every, stop), name="recalc-recovery", daemon=True
        )
        thread.start()
        wakeup = Wakeup()
        if notifications_supported():
            _wake_task_loop_on(wakeup)
            threading.Thread(
                target=listen_loop, args=(wakeup, stop), name="recalc-listen", daemon=True
            ).start()
        if not no_help:
            threading.Thread(
                target=_help_loop,
                args=(HELP_POLL_SECONDS, stop, wakeup),
                name="recalc-help",
                daemon=True,
            ).start()
        hooks = webhooks_thread(stop)  # webhook fan-outs and deliveries (SPEC §14)
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
            hooks.join(timeout=15)  # let a round in flight record its outcomes
