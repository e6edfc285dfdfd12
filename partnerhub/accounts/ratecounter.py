"""Fixed-window attempt counters shared by every process (accounts.models.RateCounter).

One statement counts an attempt and reads the new total (`INSERT … ON CONFLICT DO UPDATE
… RETURNING`, SQLite 3.35+ and PostgreSQL alike), so concurrent attempts in any number of
processes never lose a count and never read a stale one.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from django.db import connection

from partnerhub.accounts.models import RateCounter


def now_seconds() -> int:
    return int(time.time())


@dataclass(frozen=True)
class Window:
    key: str
    start: int
    seconds: int

    @property
    def retry_after(self) -> int:
        """Seconds until this window ends, at least 1."""
        return max(1, self.start + self.seconds - now_seconds())


def window_for(purpose: str, client_key: str, seconds: int) -> Window:
    seconds = max(1, seconds)
    now = now_seconds()
    start = now - now % seconds
    # Hashed: usernames and addresses are not safe or bounded key material.
    digest = hashlib.sha256(client_key.encode()).hexdigest()[:40]
    return Window(key=f"{purpose}:{digest}:{start}", start=start, seconds=seconds)


def counter_hit(window: Window) -> int:
    """Count one attempt in `window`; answer the attempts counted there, this one included."""
    q = connection.ops.quote_name
    table, key, count = q(RateCounter._meta.db_table), q("key"), q("count")
    expires_at = window.start + window.seconds
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({key}, {count}, {q('expires_at')}) VALUES (%s, 1, %s) "
            f"ON CONFLICT ({key}) DO UPDATE SET {count} = {table}.{count} + 1 "
            f"RETURNING {count}",
            [window.key, expires_at],
        )
        row = cursor.fetchone()
    _purge_expired()
    return int(row[0])


def counter_value(window: Window) -> int:
    row = RateCounter.objects.filter(key=window.key).values_list("count", flat=True).first()
    return int(row or 0)


def counter_clear(window: Window) -> None:
    RateCounter.objects.filter(key=window.key).delete()


def _purge_expired() -> None:
    # Indexed on expires_at: cheap, and it keeps the table at the live windows only.
    RateCounter.objects.filter(expires_at__lt=now_seconds()).delete()
