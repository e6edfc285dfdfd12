"""`partnerhub demo`: demo data in a fresh embedded database, then web + worker.

`partnerhub demo` (cli.py) points the database at $PARTNERHUB_DATA_DIR/demo
and deletes the previous demo database before Django starts; this command
migrates, loads the demo and serves it.
"""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from partnerhub.ops.demo_data import DemoSummary, demo_data_load
from partnerhub.ops.management.commands.serve import add_serve_arguments, serve_options
from partnerhub.ops.processes import run_services
from partnerhub.resellers.models import Reseller
from partnerhub.webhooks.demo import DemoReceiver, demo_receiver_start, demo_webhooks_setup
from partnerhub.webhooks.models import Endpoint


class Command(BaseCommand):
    help = "Load demo data into a fresh database and serve it on http://127.0.0.1:8000/."

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_serve_arguments(parser, workers=1)
        parser.add_argument(
            "--no-serve", action="store_true", help="load the demo and exit (for tests, CI)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        serve = serve_options(options)
        call_command("migrate", interactive=False, verbosity=0)
        if Reseller.objects.exists():
            raise CommandError(
                "This database already has data. Run `partnerhub demo`, which starts from a "
                "fresh database of its own."
            )
        self.stdout.write("Loading demo data…")
        summary = demo_data_load()
        url = f"http://{serve.host}:{serve.port}/"
        if options["no_serve"]:
            self._print_summary(summary, url)
            return
        call_command("collectstatic", interactive=False, verbosity=0)
        receiver = self._start_webhook_receiver()

        def ready() -> None:
            self._print_summary(summary, url)
            self.stdout.write("Press Ctrl-C to stop.")

        try:
            code = run_services(serve, write=self.stdout.write, on_ready=ready)
        finally:
            receiver.stop()
        if code:
            sys.exit(code)

    def _start_webhook_receiver(self) -> DemoReceiver:
        """A local receiver and Northwind's endpoint pointing at it (SPEC §14): edit a plan
        and watch the Webhooks page's delivery log (and this terminal)."""
        endpoint: list[Endpoint] = []
        receiver = demo_receiver_start(lambda: endpoint[0].secret, self.stdout.write)
        endpoint.append(demo_webhooks_setup("northwind", receiver.url))
        self.webhook_url = receiver.url
        return receiver

    def _print_summary(self, summary: DemoSummary, url: str) -> None:
        write = self.stdout.write
        write(
            f"Demo data: {summary.resellers} resellers, {summary.plans} plans, "
            f"{summary.companies} companies, {summary.sale_items} sale items, "
            f"{summary.sales} sales over the past year, {summary.statements} closed statements "
            f"(database: {settings.DATABASES['default']['NAME']})."
        )
        write("")
        write(f"Open {url} and log in as:")
        for username, role, password in summary.users:
            write(f"  {username:<18} password: {password:<18} ({role.replace('_', ' ')})")
        write("")
        write(f"API (Northwind admin key): curl -H 'Authorization: Bearer {summary.api_key}' \\")
        write(f"    {url}api/v1/plans")
        write(f"API docs: {url}api/docs · Self-service registration: {url}r/northwind/register")
        write(f"Statements: {url}statements/ (what each company owes, what Northwind earned)")
        if getattr(self, "webhook_url", None):
            write(
                f"Webhooks: Northwind's endpoint posts to a demo receiver at {self.webhook_url}; "
                f"edit a plan and watch {url}webhooks/ (and this terminal)."
            )
