from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from partnerhub.accounts.authentication import api_key_authenticate
from partnerhub.accounts.models import ApiKey
from partnerhub.audit.models import AuditEvent
from partnerhub.cli import main
from partnerhub.core.actor import Role


def _last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


@pytest.fixture
def keep_connection_open(monkeypatch):
    # A command run from the command line closes every connection when it ends; the test
    # database lives in this connection's transaction.
    from django.core.management import base

    monkeypatch.setattr(base.connections, "close_all", lambda: None)


def test_cli_apikey_create_prints_the_key_last_and_it_authenticates(
    personas, capsys, keep_connection_open
):
    main(["apikey", "create", "--platform", "--name", "ci"])

    raw = _last_line(capsys.readouterr().out)
    actor = api_key_authenticate(raw)
    assert actor is not None
    assert actor.role == Role.PLATFORM
    key = ApiKey.objects.get(pk=actor.api_key_id)
    assert key.name == "ci"
    assert AuditEvent.objects.get(action="api_key.create").actor_label == "cli:apikey"


def test_reseller_viewer_key_by_slug(personas):
    out = StringIO()
    call_command("apikey", "create", "--reseller", "northwind", "--viewer", stdout=out)

    actor = api_key_authenticate(_last_line(out.getvalue()))
    assert actor is not None
    assert actor.role == Role.RESELLER_VIEWER
    assert actor.reseller_id == personas.reseller_a.pk


def test_company_key_by_id(personas):
    out = StringIO()
    call_command("apikey", "create", "--company", str(personas.company_a.pk), stdout=out)

    actor = api_key_authenticate(_last_line(out.getvalue()))
    assert actor is not None
    assert actor.company_id == personas.company_a.pk


@pytest.mark.parametrize(
    "args",
    [
        ["--reseller", "nowhere"],
        ["--company", "999999"],
        ["--platform", "--viewer"],
    ],
)
def test_bad_apikey_arguments_fail_without_creating_a_key(personas, args):
    with pytest.raises(CommandError):
        call_command("apikey", "create", *args, stdout=StringIO())
    assert not ApiKey.objects.exists()


def test_apikey_list_and_revoke(personas):
    out = StringIO()
    call_command("apikey", "create", "--reseller", "northwind", stdout=out)
    raw = _last_line(out.getvalue())
    prefix = raw.split("_")[1]

    listing = StringIO()
    call_command("apikey", "list", stdout=listing)
    call_command("apikey", "revoke", prefix, stdout=StringIO())

    assert prefix in listing.getvalue()
    assert raw not in listing.getvalue()
    assert api_key_authenticate(raw) is None
