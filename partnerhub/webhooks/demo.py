"""A small webhook receiver for `partnerhub demo`, so a newcomer sees deliveries at once.

It listens on 127.0.0.1, checks each request's Standard Webhooks signature with the
endpoint's secret, answers 200 and prints one line per event. A real receiver would
use a library such as `standardwebhooks` (what the test suite checks against).
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from partnerhub.core.actor import platform_actor
from partnerhub.resellers.models import Reseller
from partnerhub.webhooks.models import Endpoint
from partnerhub.webhooks.services import endpoint_create, endpoint_send_test
from partnerhub.webhooks.signing import signature


def signature_valid(secret: str, headers: dict[str, str], body: bytes) -> bool:
    expected = signature(
        secret, headers.get("webhook-id", ""), int(headers.get("webhook-timestamp") or 0), body
    )
    sent = headers.get("webhook-signature", "").split(" ")
    return any(hmac.compare_digest(expected, s) for s in sent)


@dataclass
class DemoReceiver:
    server: ThreadingHTTPServer
    url: str

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def demo_receiver_start(
    secret_of: Callable[[], str], write: Callable[[str], Any], port: int = 0
) -> DemoReceiver:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            ok = signature_valid(secret_of(), headers, body)
            kind = body[:120].decode(errors="replace")
            write(
                f"[webhook receiver] {headers.get('webhook-id')} "
                f"{'signature ok' if ok else 'BAD SIGNATURE'}: {kind}…"
            )
            self.send_response(200 if ok else 400)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="demo-receiver", daemon=True).start()
    return DemoReceiver(server=server, url=f"http://127.0.0.1:{server.server_address[1]}/webhooks")


def demo_webhooks_setup(reseller_slug: str, url: str) -> Endpoint:
    """The demo reseller's endpoint at `url`, with a test event already queued."""
    operator = platform_actor("demo")
    reseller = Reseller.objects.get(slug=reseller_slug)
    created = endpoint_create(
        actor=operator,
        reseller_id=reseller.pk,
        url=url,
        description="Demo receiver started by `partnerhub demo`",
    )
    endpoint_send_test(actor=operator, endpoint_id=created.endpoint.pk)
    return created.endpoint
