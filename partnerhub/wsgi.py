"""The WSGI application (`partnerhub serve` runs it in granian, once per worker process)."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerhub.settings")
application = get_wsgi_application()


def _settle() -> None:
    """Load now what the first request would load (the URLconf, and with it every view,
    router and schema), then move all those long-lived objects out of the garbage
    collector's sight. A full collection over them takes about 40 ms on the benchmark
    machine, a pause any request caught behind it would see; after the freeze it only
    walks what requests have left behind (docs/benchmarks.md, REST API)."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports the URLconf
    gc.collect()
    gc.freeze()


_settle()
