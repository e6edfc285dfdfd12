"""Exact query-count pins that print the SQL when the count moves (Zulip's
`assert_database_query_count`): pytest-django's own fixture lists the queries only
under `-v`, and a CI log is where a moved count is first seen."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.test.utils import CaptureQueriesContext


@contextmanager
def assert_query_count(expected: int) -> Iterator[CaptureQueriesContext]:
    with CaptureQueriesContext(connection) as context:
        yield context
    done = len(context.captured_queries)
    if done != expected:
        statements = "\n".join(
            f"{n}. {query['sql']}" for n, query in enumerate(context.captured_queries, 1)
        )
        raise AssertionError(f"expected {expected} queries, {done} were made:\n{statements}")
