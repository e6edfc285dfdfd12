"""`partnerhub createadmin`: create the platform operator's hub account."""

from __future__ import annotations

import getpass
import secrets
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from partnerhub.accounts.services import user_create
from partnerhub.core.actor import Actor, Role
from partnerhub.core.errors import DomainError


class Command(BaseCommand):
    help = "Create a platform operator (a superuser with the platform role)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password",
            help="the password; else asked for on a terminal, or generated and printed",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password, generated = self._password(options["password"])
        actor = Actor(role=Role.SYSTEM, label="cli:createadmin")
        try:
            user = user_create(
                actor=actor,
                username=options["username"],
                password=password,
                role=Role.PLATFORM,
                email=options["email"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"Created platform operator {user.get_username()!r}.")
        if generated:
            self.stdout.write(f"Password: {password}")

    def _password(self, given: str | None) -> tuple[str, bool]:
        if given:
            return given, False
        if sys.stdin.isatty():
            first = getpass.getpass("Password: ")
            if first != getpass.getpass("Password (again): "):
                raise CommandError("The passwords do not match.")
            return first, False
        return secrets.token_urlsafe(16), True
