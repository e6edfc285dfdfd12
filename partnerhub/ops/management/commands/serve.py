"""`partnerhub serve`: the production web server (granian, WSGI) plus the job worker(s)."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from partnerhub.ops.processes import DEFAULT_THREADS, ServeOptions, run_services


def add_serve_arguments(parser: ArgumentParser, *, workers: int = 2) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    parser.add_argument(
        "--workers", type=int, default=workers, help=f"web processes (default {workers})"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=DEFAULT_THREADS,
        help=f"requests per web process at once (default {DEFAULT_THREADS})",
    )
    parser.add_argument(
        "--no-worker", action="store_true", help="do not start a job worker alongside the web"
    )
    parser.add_argument(
        "--job-workers",
        type=int,
        default=None,
        help="job worker processes; a recalculation's chunks spread over them "
        "(default: 1 on SQLite, which runs one writer at a time; 2 on PostgreSQL)",
    )


def default_job_workers() -> int:
    """One on SQLite (one writer at a time: more workers would only queue on its lock);
    two on PostgreSQL, where two chunks of one job run at once (docs/benchmarks.md)."""
    from django.db import connection

    return 1 if connection.vendor == "sqlite" else 2


def serve_options(options: dict[str, Any]) -> ServeOptions:
    if options["workers"] < 1 or options["threads"] < 1:
        raise CommandError("--workers and --threads must be at least 1")
    job_workers = options.get("job_workers")
    if job_workers is None:
        job_workers = default_job_workers()
    if job_workers < 1:
        raise CommandError("--job-workers must be at least 1")
    if not 0 < options["port"] < 65536:
        raise CommandError("--port must be between 1 and 65535")
    return ServeOptions(
        host=options["host"],
        port=options["port"],
        workers=options["workers"],
        threads=options["threads"],
        with_worker=not options["no_worker"],
        job_workers=job_workers,
    )


class Command(BaseCommand):
    help = "Serve the web hub and API with granian, and run a job worker (unless --no-worker)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_serve_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        serve = serve_options(options)
        # Static files are served by WhiteNoise from STATIC_ROOT: collect them first.
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(f"Serving on http://{serve.host}:{serve.port}/ (Ctrl-C to stop)")
        code = run_services(serve, write=self.stdout.write)
        if code:
            sys.exit(code)
