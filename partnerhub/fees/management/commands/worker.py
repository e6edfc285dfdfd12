"""`partnerhub worker`: the django-tasks-db worker plus recovery of jobs whose worker died.

A SIGKILLed worker leaves its task "running" in the task table forever; the
task table cannot tell a dead worker from a slow one. Our own job rows can (a
heartbeat per chunk, and the owner's host:pid), so a thread here re-enqueues
such jobs, and the worker loop then claims them like any other task.
"""

from __future__ import annotations

import logging
import threading
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from partnerhub.fees.recalc import recalculation_recover_stale
from partnerhub.webhooks.worker import webhooks_thread

logger = logging.getLogger(__name__)


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


class Command(DbWorkerCommand):
    help = "Run the job worker (fee recalculations), recovering jobs whose worker died."

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--recover-every",
            type=float,
            default=None,
            help="Seconds between checks for jobs whose worker is gone "
            "(default: a third of RECALC_STALE_SECONDS, at most 10).",
        )
        # A short poll keeps a job's start latency small next to its run time;
        # never reload in a worker (a reload would kill the running chunk).
        parser.set_defaults(interval=0.2, reload=False)

    def handle(self, *args: Any, **options: Any) -> None:
        every = options.pop("recover_every", None) or min(
            10.0, max(0.5, settings.RECALC_STALE_SECONDS / 3)
        )
        stop = threading.Event()
        thread = threading.Thread(
            target=_recovery_loop, args=(every, stop), name="recalc-recovery", daemon=True
        )
        thread.start()
        hooks = webhooks_thread(stop)  # webhook fan-outs and deliveries (SPEC §14)
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
            hooks.join(timeout=15)  # let a round in flight record its outcomes
