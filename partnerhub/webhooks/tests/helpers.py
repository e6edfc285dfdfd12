"""Shared by the webhooks tests: run fan-outs now, read events, a loopback receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from partnerhub.webhooks.models import Event, FanOut
from partnerhub.webhooks.worker import fanout_work


def run_fanouts() -> None:
    """What the worker does with pending fan-outs, here and now."""
    while FanOut.objects.filter(done=False).exists():
        fanout_work("test-worker", budget=60)


def events_of(event_type: str) -> list[Event]:
    return list(Event.objects.filter(type=event_type).order_by("id"))


def entitlement_events_by_company() -> dict[int, int]:
    counts: dict[int, int] = {}
    for event in events_of("company.entitlements_changed"):
        counts[event.data["company_id"]] = counts.get(event.data["company_id"], 0) + 1
    return counts


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1; `answer(headers, body) -> status` decides."""

    url: str
    requests: list[Received] = field(default_factory=list)
    answer: Callable[[dict[str, str], bytes], int] = lambda headers, body: 200

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.body) for r in self.requests]


@contextmanager
def loopback_receiver() -> Iterator[Receiver]:
    receiver = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            receiver.requests.append(Received(headers, body))
            status = receiver.answer(headers, body)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
