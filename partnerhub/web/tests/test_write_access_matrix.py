"""Write access for every hub URL, generated from the URLconf (STYLE.md).

For every hub URL naming reseller A's own objects, A's admin loads the page and A's
viewer POSTs the page's main form back (as a browser would; an empty body where the
page has none): the answer is 403 (405 where the view takes no POST), or, for a page
that only reads (listed below), the page again — and nothing is written. A new URL is
in the matrix as soon as it is routed, and defaults to "writes: 403".
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from partnerhub.audit.models import AuditEvent
from partnerhub.catalog.models import Feature
from partnerhub.fees.models import RecalcJob
from partnerhub.testing.formpost import main_form_data
from partnerhub.web.tests import test_tenancy_matrix as tenancy
from partnerhub.web.tests.test_tenancy_matrix import FIXED_PARAMS, HUB_URLS, ID_KINDS, _params, _url

pytestmark = pytest.mark.django_db

worlds = tenancy.worlds  # the tenancy matrix's objects: world "a" is the personas' own

# URLs a viewer may POST to, and why (none of them writes a tenant's data).
VIEWER_POSTS = {
    "web:login": "signing in is not a write to tenant data",
    "web:logout": "signing out is not a write to tenant data",
    "registration:register": "public: anyone may register a company",
    "registration:done": "public: shows what the visitor's session registered",
}
# Where posting the page back unchanged is no edit at all (a redirect, nothing written).
UNCHANGED_IS_NO_EDIT = {"fees:sale_item_edit"}
# Bodies for views that take no GET (so there is no page to read a form from).
BODIES = {
    "webhooks:resend_failed": lambda own: {
        "endpoint_id": own["endpoint"],
        "since": "2026-01-01T00:00",
    }
}
# Pages that only read: a POST renders them again (200) and writes nothing.
READ_PAGES = {
    "web:home",
    "web:dashboard",
    "plans:list",
    "companies:list",
    "fees:job_list",
    "fees:job_detail",
    "fees:job_progress",
    "fees:sale_items",
    "audit:list",
    "accounts:api_keys",
    "webhooks:page",
    "webhooks:endpoint_edit",
    "webhooks:delivery_detail",
}


def _cases() -> list[Any]:
    return [
        pytest.param(name, pattern, id=name)
        for name, pattern in HUB_URLS
        if name not in VIEWER_POSTS
    ]


def test_every_hub_url_is_in_the_write_access_matrix() -> None:
    assert set(VIEWER_POSTS) | READ_PAGES <= {name for name, _ in HUB_URLS}
    assert len(_cases()) > 30


@pytest.mark.parametrize(("name", "pattern"), _cases())
def test_a_viewer_cannot_write_through_the_hub(personas, worlds, name, pattern) -> None:
    admin, viewer = Client(), Client()
    admin.force_login(personas.admin_a_user)
    viewer.force_login(personas.viewer_a_user)
    values: dict[str, Any] = dict(FIXED_PARAMS)
    for param in _params(pattern):
        if param in ID_KINDS:
            values[param] = worlds["a"][ID_KINDS[param]]
        elif param == "feature_id":
            values[param] = Feature.objects.order_by("id").values_list("id", flat=True).first()
        elif param == "slug":
            values[param] = personas.reseller_a.slug
    audit_before, jobs_before = AuditEvent.objects.count(), RecalcJob.objects.count()

    url = _url(pattern, values)
    page = admin.get(url)
    body = BODIES[name](worlds["a"]) if name in BODIES else {}
    if page.status_code == 200 and b'method="post"' in page.content:
        body = main_form_data(page.content)

    response = viewer.post(url, body)

    allowed: tuple[int, ...] = (200, 403, 405) if name in READ_PAGES else (403, 405)
    allowed += (302,) if name in UNCHANGED_IS_NO_EDIT else ()
    assert response.status_code in allowed, (name, response.status_code)
    assert AuditEvent.objects.count() == audit_before, "a viewer changed something"
    assert RecalcJob.objects.count() == jobs_before
