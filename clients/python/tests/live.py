"""A real Partnerhub on loopback for the client's tests and the bench: `partnerhub serve`
(granian + its worker) on a scratch database, and a webhook receiver in this process.

The database is a SQLite file in a temporary folder, or, when DATABASE_URL points at
PostgreSQL, a scratch database next to it (named after PARTNERHUB_TEST_DB_NAME, dropped
afterwards), so the suite's own test databases are never touched.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx

REPO = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def scratch_database(tmp: Path, suffix: str) -> Iterator[str]:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield f"sqlite:///{tmp / 'partnerhub.sqlite3'}"
        return
    import psycopg

    server, _, _ = url.rpartition("/")
    name = f"{os.environ.get('PARTNERHUB_TEST_DB_NAME') or 'test'}_{suffix}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def partnerhub_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        PARTNERHUB_DEV="1",
        DATABASE_URL=database_url,
        PARTNERHUB_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="partnerhub.settings",
        LOG_LEVEL="WARNING",
        # The receiver listens on 127.0.0.1, which the SSRF guard refuses otherwise.
        PARTNERHUB_WEBHOOK_ALLOW_PRIVATE="1",
        # A failed delivery is tried again within seconds, not minutes.
        PARTNERHUB_WEBHOOK_RETRY_SCHEDULE="1,1,2,2,5",
    )
    env.update(extra)
    return env


def partnerhub_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "partnerhub.cli", *args],
        env=env,
        capture_output=True,
        timeout=300,
        cwd=REPO,
    )
    if done.returncode != 0:
        raise RuntimeError(f"partnerhub {' '.join(args)} failed:\n{done.stderr.decode()}")
    return done.stdout.decode()


@dataclass
class LivePartnerhub:
    """`partnerhub serve` on a port of its own; stop() and start() it at will."""

    env: dict[str, str]
    log_dir: Path
    port: int = field(default_factory=free_port)
    web_workers: int = 1
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        log = (self.log_dir / "serve.log").open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "partnerhub.cli",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(self.web_workers),
                "--job-workers",
                "1",
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"partnerhub serve exited; see {self.log_dir / 'serve.log'}")
            try:
                if httpx.get(f"{self.url}/api/v1/ping", timeout=1).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("partnerhub serve did not answer in time")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadingWSGIServer(WSGIServer):
    daemon_threads = True

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve_one, args=(request, client_address), daemon=True
        )
        thread.start()

    def _serve_one(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)


@dataclass
class Receiver:
    """A WSGI app served on 127.0.0.1 in a thread (the host platform's webhook URL)."""

    app: Callable[..., Any] | None = None  # set once the client (and its secret) exists
    port: int = field(default_factory=free_port)
    server: WSGIServer | None = None
    paused: bool = False  # while True, every webhook answers 503 (a receiver that is down)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/partnerhub/webhooks"

    def start(self) -> None:
        receiver = self

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            if receiver.paused or receiver.app is None:
                start_response("503 Service Unavailable", [("Content-Length", "0")])
                return [b""]
            return receiver.app(environ, start_response)

        self.server = make_server(
            "127.0.0.1",
            self.port,
            app,
            server_class=_ThreadingWSGIServer,
            handler_class=_QuietHandler,
        )
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
