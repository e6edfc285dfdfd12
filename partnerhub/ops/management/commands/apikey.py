"""`partnerhub apikey create|list|revoke`: API keys for automation.

`create` prints the new key alone on its last line, so scripts can take it
with `tail -n 1`.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from partnerhub.accounts.models import ApiKey
from partnerhub.accounts.selectors import api_key_list_for_actor
from partnerhub.accounts.services import api_key_create, api_key_revoke
from partnerhub.companies.models import Company
from partnerhub.core.actor import Actor, Role
from partnerhub.core.errors import DomainError
from partnerhub.resellers.models import Reseller

CLI_ACTOR = Actor(role=Role.SYSTEM, label="cli:apikey")


class Command(BaseCommand):
    help = "Create, list or revoke API keys."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a key and print it (last line)")
        scope = create.add_mutually_exclusive_group(required=True)
        scope.add_argument("--platform", action="store_true", help="a platform key")
        scope.add_argument("--reseller", metavar="SLUG", help="a key of this reseller")
        scope.add_argument("--company", metavar="ID", type=int, help="a key of this company")
        create.add_argument("--viewer", action="store_true", help="with --reseller: read-only")
        create.add_argument("--name", default="", help="a label to recognise the key by")
        sub.add_parser("list", help="list keys (never their secrets)")
        revoke = sub.add_parser("revoke", help="revoke a key")
        revoke.add_argument("prefix", help="the key's prefix (the part after 'ph_')")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except DomainError as exc:
            raise CommandError(exc.message) from None

    def _create(self, options: dict[str, Any]) -> None:
        if options["viewer"] and not options["reseller"]:
            raise CommandError("--viewer goes with --reseller")
        kwargs: dict[str, Any] = {"name": options["name"]}
        if options["platform"]:
            kwargs["scope"] = ApiKey.Scope.PLATFORM
        elif options["reseller"]:
            reseller = Reseller.objects.filter(slug=options["reseller"]).first()
            if reseller is None:
                raise CommandError(f"No reseller with slug {options['reseller']!r}.")
            viewer = options["viewer"]
            kwargs["scope"] = (
                ApiKey.Scope.RESELLER_VIEWER if viewer else ApiKey.Scope.RESELLER_ADMIN
            )
            kwargs["reseller_id"] = reseller.pk
        else:
            if not Company.objects.filter(pk=options["company"]).exists():
                raise CommandError(f"No company with id {options['company']}.")
            kwargs["scope"] = ApiKey.Scope.COMPANY
            kwargs["company_id"] = options["company"]
        key, raw = api_key_create(actor=CLI_ACTOR, **kwargs)
        self.stdout.write(f"Created {key.scope} key {key.prefix} (shown once, store it now):")
        self.stdout.write(raw)

    def _list(self, options: dict[str, Any]) -> None:
        for key in api_key_list_for_actor(CLI_ACTOR).select_related("reseller"):
            owner = key.reseller.slug if key.reseller else "-"
            state = "revoked" if key.revoked_at else "active"
            self.stdout.write(
                f"{key.prefix}  {key.scope:<16} {owner:<20} {state:<8} company={key.company_id} "
                f"{key.name}"
            )

    def _revoke(self, options: dict[str, Any]) -> None:
        key = ApiKey.objects.filter(prefix=options["prefix"]).first()
        if key is None:
            raise CommandError(f"No key with prefix {options['prefix']!r}.")
        api_key_revoke(actor=CLI_ACTOR, api_key_id=key.pk)
        self.stdout.write(f"Revoked {key.prefix}.")
