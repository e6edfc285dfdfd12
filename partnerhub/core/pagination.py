"""`limit`/`offset` pages answered as `{"items": [...], "count": N}` (SPEC §12).

Two queries for the page itself (the count and the slice) plus whatever the
selector prefetches: the same number whatever the page size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import Model, QuerySet

from partnerhub.core.schemas import PageParams

M = TypeVar("M", bound=Model)


def paginate[M: Model](
    queryset: QuerySet[M], page: PageParams, serialize: Callable[[M], Any]
) -> dict[str, Any]:
    count = queryset.count()
    rows = list(queryset[page.offset : page.offset + page.limit]) if page.offset < count else []
    return {"items": [serialize(row) for row in rows], "count": count}
