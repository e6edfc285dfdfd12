"""Exact query counts for every hub list page (STYLE.md): each is loaded by reseller A's
admin (and the platform, for the pages only it has) with two rows of everything it
lists, so an N+1 shows as a changed count; `testing.queries.assert_query_count` prints
the SQL when the count moves.

The list pages are the hub URLs named `…list`, `…index` or listed in LIST_PAGES; a new
one fails `test_every_list_page_is_pinned` until it has its count below.
"""

from __future__ import annotations

import pytest
from django.test import Client

from partnerhub.api.tests import test_list_query_counts as api_counts
from partnerhub.testing.queries import assert_query_count
from partnerhub.web.tests import test_tenancy_matrix as tenancy
from partnerhub.web.tests.test_tenancy_matrix import HUB_URLS, ID_KINDS, _params, _url

pytestmark = pytest.mark.django_db

worlds = tenancy.worlds
more = api_counts.more  # a second row of each kind in reseller A

# List pages whose name does not say so.
LIST_PAGES = {
    "web:home",
    "web:dashboard",
    "fees:sale_items",
    "accounts:api_keys",
    "webhooks:page",
    "statements:reseller",
}
# Pages of the platform only.
PLATFORM_PAGES = {"resellers:list", "catalog:index"}
# Queries per page load, the session and the layout's navigation included.
PAGE_QUERIES = {
    "web:home": 10,
    "web:dashboard": 10,
    "plans:list": 16,
    "companies:list": 21,
    "fees:job_list": 7,
    "fees:sale_items": 12,
    "resellers:list": 6,
    "catalog:index": 10,
    "audit:list": 9,
    "accounts:api_keys": 11,
    "webhooks:page": 8,
    # No reseller month closed yet: the chart's open months are computed from the
    # companies, loaded once (months before the first company are skipped); with the
    # months closed it is 12 in all (statements/tests/test_hub_statements.py).
    "statements:reseller": 27,
    "statements:company_list": 13,
}


def _is_list(name: str) -> bool:
    return name.endswith(("list", ":index")) or name in LIST_PAGES


PAGES = [(name, pattern) for name, pattern in HUB_URLS if _is_list(name)]


def test_every_list_page_is_pinned() -> None:
    assert {name for name, _ in PAGES} == set(PAGE_QUERIES)
    assert {"audit:list", "fees:job_list"} <= set(PAGE_QUERIES)


@pytest.mark.parametrize(("name", "pattern"), [pytest.param(n, p, id=n) for n, p in PAGES])
def test_a_list_page_makes_a_fixed_number_of_queries(personas, worlds, more, name, pattern) -> None:
    client = Client()
    user = personas.platform_user if name in PLATFORM_PAGES else personas.admin_a_user
    client.force_login(user)
    values = {p: worlds["a"][ID_KINDS[p]] for p in _params(pattern)}
    url = _url(pattern, values)

    with assert_query_count(PAGE_QUERIES[name]):
        response = client.get(url)

    assert response.status_code == 200
