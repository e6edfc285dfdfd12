"""`partnerhub statements close [--period YYYY-MM]`: close every statement whose period
ended (by the month's end with --period) and whose grace has passed.

The job runs here, as its owner, printing its progress; running workers join its chunks
(and finish it, should this process die). `--enqueue` leaves it to the workers.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from partnerhub.core.actor import Actor, Role
from partnerhub.core.errors import ValidationFailed
from partnerhub.statements.close import (
    CHUNK_COMPANIES,
    close_job_progress,
    close_job_run,
    close_job_start,
    due_cutoff,
    month_cutoff,
    period_parse,
)

CLI_ACTOR = Actor(role=Role.SYSTEM, label="partnerhub statements close")


class Command(BaseCommand):
    help = "Statements (SPEC §15): `close [--period YYYY-MM]` closes what has ended."

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="close")
        close = actions.add_parser(
            "close",
            help="close every statement whose period ended and whose grace has passed",
        )
        close.add_argument(
            "--period",
            metavar="YYYY-MM",
            help="only periods ending by this month's end (and that month's reseller "
            "statements, once its grace has passed)",
        )
        close.add_argument(
            "--enqueue",
            action="store_true",
            help="start the job for the workers and return instead of running it here",
        )
        close.add_argument(
            "--chunk-companies",
            type=int,
            default=CHUNK_COMPANIES,
            help=f"companies per chunk, one transaction each (default {CHUNK_COMPANIES})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        month = None
        if options["period"] is not None:
            try:
                month = period_parse(options["period"], now=now)
            except ValidationFailed as exc:
                raise CommandError(f"--period {exc.message.removeprefix('period: ')}") from exc
        if options["chunk_companies"] < 1:
            raise CommandError("--chunk-companies must be at least 1")
        cutoff = due_cutoff(now) if month is None else month_cutoff(month, now)
        job = close_job_start(
            actor=CLI_ACTOR,
            cutoff=cutoff,
            period_month=month,
            chunk_companies=options["chunk_companies"],
        )
        self.stdout.write(
            f"Close job {job.pk}: periods whose end + grace is at or before "
            f"{cutoff:%Y-%m-%d %H:%M} UTC; {job.companies_total} companies."
        )
        if options["enqueue"]:
            self.stdout.write("Enqueued for the workers.")
            return
        printed: list[str] = []

        def show(job_id: int) -> None:
            line = close_job_progress(job_id).line()
            if not printed or printed[-1] != line:
                printed.append(line)
                self.stdout.write(line)

        close_job_run(job_id=job.pk, on_progress=show)
        progress = close_job_progress(job.pk)
        if not printed or printed[-1] != progress.line():
            self.stdout.write(progress.line())
        if progress.status == "failed":
            raise CommandError(f"Close job {job.pk} failed: {progress.error}")
        if not progress.finished:
            # Taken over by a worker (this process was presumed gone): it finishes the job.
            self.stdout.write(f"Close job {job.pk} continues on the workers.")
