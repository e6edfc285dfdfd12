import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError

from partnerhub.accounts.authentication import actor_for_user
from partnerhub.cli import _prepare_demo_environment, demo_database_path, main
from partnerhub.core.actor import Role


def test_help_lists_every_command(capsys):
    main(["--help"])

    out = capsys.readouterr().out
    for command in ("demo", "serve", "worker", "migrate", "createadmin", "seed", "recalc"):
        assert f"partnerhub {command}" in out
    assert "apikey create --platform" in out


def test_unknown_command_exits_with_usage(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])

    assert exc.value.code == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


def test_manage_runs_djangos_own_commands(db, capsys, monkeypatch):
    from django.core.management import base

    monkeypatch.setattr(base.connections, "close_all", lambda: None)

    main(["manage", "check"])

    assert "System check identified no issues" in capsys.readouterr().out


def test_demo_environment_uses_its_own_fresh_database(tmp_path, monkeypatch):
    monkeypatch.setenv("PARTNERHUB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgres://production/db")
    monkeypatch.delenv("PARTNERHUB_DEV", raising=False)
    old = demo_database_path()
    old.parent.mkdir(parents=True)
    old.write_text("previous demo")
    (old.parent / "partnerhub.sqlite3-wal").write_text("wal")

    _prepare_demo_environment()

    import os

    assert os.environ["DATABASE_URL"] == f"sqlite:///{tmp_path}/demo/partnerhub.sqlite3"
    assert os.environ["PARTNERHUB_DEV"] == "1"
    assert not old.exists()
    assert not (old.parent / "partnerhub.sqlite3-wal").exists()


def test_createadmin_creates_a_platform_operator(db, capsys):
    call_command("createadmin", "--username", "root", "--password", "a long enough password")

    user = User.objects.get(username="root")
    assert user.is_superuser
    assert user.check_password("a long enough password")
    assert actor_for_user(user).role == Role.PLATFORM


def test_createadmin_without_a_password_prints_a_generated_one(db, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)

    call_command("createadmin", "--username", "root")

    password = capsys.readouterr().out.strip().splitlines()[-1].removeprefix("Password: ")
    assert User.objects.get(username="root").check_password(password)


def test_createadmin_refuses_a_taken_username(db):
    call_command("createadmin", "--username", "root", "--password", "a long enough password")
    with pytest.raises(CommandError):
        call_command("createadmin", "--username", "root", "--password", "a long enough password")
    assert User.objects.filter(username="root").count() == 1


@pytest.mark.parametrize(
    "command",
    ["demo", "serve", "worker", "migrate", "createadmin", "seed", "recalc", "apikey"],
)
def test_every_cli_command_dispatches_to_its_management_command(command, capsys, monkeypatch):
    monkeypatch.setattr("partnerhub.cli._prepare_demo_environment", lambda: pytest.fail("wiped"))
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])

    assert exc.value.code == 0
    assert f"partnerhub {command}" in capsys.readouterr().out
