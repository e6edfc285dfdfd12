"""The SSRF guard (SPEC §14): a delivery goes only to a public address, checked when it is
sent, on the address the host name resolves to then (not when the endpoint was saved:
DNS can change). The connection is then made to that very address, so a second lookup
cannot swap in a private one (DNS rebinding)."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings


class TargetRefused(Exception):
    """The URL may not be delivered to; the message names the reason, never a secret."""


@dataclass(frozen=True)
class Target:
    url: str  # with the host replaced by the checked address
    host_header: str
    sni_hostname: str | None  # https only: the name the certificate must carry


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve_target(url: str) -> Target:
    """Resolve and check `url`'s host; raise TargetRefused for a non-public address
    unless PARTNERHUB_WEBHOOK_ALLOW_PRIVATE=1."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("only http and https URLs with a host are delivered to")
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise TargetRefused(f"cannot resolve {host}: {exc}") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise TargetRefused(f"{host} resolves to no address")
    if not settings.WEBHOOK_ALLOW_PRIVATE:
        refused = [a for a in addresses if not _is_public(a)]
        if refused:
            raise TargetRefused(
                f"{host} resolves to a loopback, private or link-local address ({refused[0]})"
            )
    address = addresses[0]
    shown = f"[{address}]" if ":" in address else address
    netloc = f"{shown}:{parts.port}" if parts.port else shown
    host_header = parts.netloc.rsplit("@", 1)[-1]
    return Target(
        url=parts._replace(netloc=netloc).geturl(),
        host_header=host_header,
        sni_hostname=host if parts.scheme == "https" else None,
    )
