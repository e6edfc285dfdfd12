"""`partnerhub usage purge [--older-than-days N]`: delete raw usage events recorded more
than PARTNERHUB_USAGE_RETENTION_DAYS (default 400) days ago. Counters are kept."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from partnerhub.core.actor import SYSTEM
from partnerhub.usage.services import usage_events_purge


class Command(BaseCommand):
    help = "Usage metering maintenance: `purge` removes raw events past the retention."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["purge"])
        parser.add_argument(
            "--older-than-days",
            type=int,
            default=None,
            help="default: PARTNERHUB_USAGE_RETENTION_DAYS (400)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["older_than_days"]
        if days is not None and days < 0:
            raise CommandError("--older-than-days must be >= 0")
        deleted = usage_events_purge(actor=SYSTEM, older_than_days=days)
        self.stdout.write(f"purged {deleted} usage event(s); counters kept")
