"""The `partnerhub` command (SPEC §9). Each subcommand is a Django management command.

partnerhub demo [--port 8000] [--no-serve]   fresh embedded database, demo data, web + worker
partnerhub serve [--host H] [--port P] [--workers N] [--no-worker]
partnerhub worker                            the job worker alone
partnerhub migrate                           create/upgrade the database schema
partnerhub createadmin [--username U]        the platform operator's account
partnerhub seed --resellers R --companies C --items I [--usage-events E] [--sales N]
                                             synthetic data
partnerhub statements close [--period YYYY-MM] [--enqueue]
                                             close every statement whose period ended
partnerhub usage purge [--older-than-days N]  delete raw usage events past the retention
partnerhub recalc …                          fee recalculation jobs
partnerhub apikey create --platform | --reseller SLUG [--viewer] | --company ID [--name N]
partnerhub apikey list | revoke PREFIX
partnerhub manage …                          any of Django's own management commands
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

COMMANDS = (
    "demo",
    "serve",
    "worker",
    "migrate",
    "createadmin",
    "seed",
    "recalc",
    "usage",
    "statements",
    "apikey",
    "manage",
)
DEMO_DATABASE_FILE = "partnerhub.sqlite3"


def _usage() -> str:
    return (__doc__ or "").split("\n\n", 1)[1].rstrip() + "\n"


def demo_database_path() -> Path:
    data_dir = Path(os.environ.get("PARTNERHUB_DATA_DIR") or "./data").resolve()
    return data_dir / "demo" / DEMO_DATABASE_FILE


def _prepare_demo_environment() -> None:
    """Before Django reads its settings: development mode and a fresh demo database.

    The demo never touches the configured DATABASE_URL: it has its own SQLite
    file under $PARTNERHUB_DATA_DIR/demo, deleted and recreated on every run.
    """
    os.environ["PARTNERHUB_DEV"] = "1"
    os.environ.setdefault("SECURE_COOKIES", "0")
    # The demo's webhook receiver listens on 127.0.0.1, which the SSRF guard refuses otherwise.
    os.environ.setdefault("PARTNERHUB_WEBHOOK_ALLOW_PRIVATE", "1")
    database = demo_database_path()
    database.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        sys.stdout.write(_usage())
        return
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        sys.stderr.write(f"partnerhub: unknown command {command!r}\n\n{_usage()}")
        sys.exit(2)
    if command == "demo":
        if {"-h", "--help"} & set(rest):
            os.environ["PARTNERHUB_DEV"] = "1"  # help only: nothing is wiped or served
        else:
            _prepare_demo_environment()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerhub.settings")
    from django.core.management import execute_from_command_line

    if command == "manage":
        execute_from_command_line(["partnerhub manage", *rest])
    else:
        execute_from_command_line(["partnerhub", command, *rest])


if __name__ == "__main__":
    main()
