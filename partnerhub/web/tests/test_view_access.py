"""Ownership and write access for every hub view (STYLE.md): an outsider gets 404 on
reseller A's objects, A's viewer gets 403 on every write and nothing changes."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from partnerhub.audit.models import AuditEvent
from partnerhub.fees.models import RecalcJob, SaleItem
from partnerhub.plans.models import Plan
from partnerhub.statements.tests.test_hub_statements import statement_row
from partnerhub.testing.factories import CompanyFactory, PlanFactory, SaleItemFactory

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def object_urls(p: Any) -> list[str]:
    job = RecalcJob.objects.create(reseller=p.reseller_a, company_ids=[p.company_a.pk])
    item = SaleItemFactory(company=p.company_a)
    plan, company = p.plan_a.pk, p.company_a.pk
    statement = statement_row(reseller=p.reseller_a, company=p.company_a).pk
    monthly = statement_row(reseller=p.reseller_a).pk
    return [
        reverse("plans:edit", args=[plan]),
        reverse("plans:restore", args=[plan]),
        reverse("companies:edit", args=[company]),
        reverse("fees:sale_items", args=[company]),
        reverse("fees:job_detail", args=[job.pk]),
        reverse("fees:job_progress", args=[job.pk]),
        reverse("fees:sale_item_edit", args=[item.pk]),
        reverse("statements:reseller", args=[p.reseller_a.pk]),
        reverse("statements:company_list", args=[company]),
        reverse("statements:detail", args=[statement]),
        reverse("statements:csv", args=[statement]),
        reverse("statements:detail", args=[monthly]),
        reverse("statements:csv", args=[monthly]),
    ]


def write_posts(p: Any) -> list[tuple[str, dict[str, str]]]:
    plan, company = p.plan_a.pk, p.company_a.pk
    item = SaleItemFactory(company=p.company_a, name="Untouched")
    sale_item = {"name": "Changed", "price": "1", "currency": "GBP", "fee_type": "ticket"}
    return [
        (
            reverse("plans:edit", args=[plan]),
            {
                "name": "x",
                "display_name": "x",
                "plan_type": "usage_based",
                "billing_cycles": "monthly",
                "version": "1",
            },
        ),
        (reverse("plans:toggle", args=[plan, "enabled"]), {}),
        (reverse("plans:toggle", args=[plan, "visible"]), {}),
        *[
            (reverse("plans:action", args=[plan, a]), {})
            for a in ("duplicate", "archive", "unarchive", "delete")
        ],
        (reverse("plans:restore", args=[plan]), {}),
        (reverse("companies:edit", args=[company]), {"name": "Renamed"}),
        (reverse("companies:resync", args=[company]), {}),
        (reverse("companies:reset_fees", args=[company]), {}),
        (reverse("fees:sale_items", args=[company]), sale_item),
        (reverse("fees:sale_item_edit", args=[item.pk]), sale_item),
    ]


def test_outsider_gets_404_on_every_object_page(personas: Any) -> None:
    client = client_for(personas.admin_b_user)
    for url in object_urls(personas):
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"Page not found" in response.content


def test_outsider_writes_are_404_and_change_nothing(personas: Any) -> None:
    client = client_for(personas.admin_b_user)
    before = AuditEvent.objects.count()
    for url, data in write_posts(personas):
        assert client.post(url, data).status_code == 404, url
    assert AuditEvent.objects.count() == before
    assert Plan.objects.get(pk=personas.plan_a.pk).enabled
    assert not SaleItem.objects.exclude(name="Untouched").exists()


def test_viewer_writes_are_403_and_change_nothing(personas: Any) -> None:
    client = client_for(personas.viewer_a_user)
    before = AuditEvent.objects.count()
    for url, data in write_posts(personas):
        response = client.post(url, data)
        assert response.status_code == 403, url
        assert b"can read but not change" in response.content, url
    assert client.get(reverse("plans:create")).status_code == 403
    assert client.get(reverse("companies:create")).status_code == 403
    assert AuditEvent.objects.count() == before
    assert Plan.objects.filter(reseller=personas.reseller_a).count() == 1
    personas.company_a.refresh_from_db()
    assert personas.company_a.name == "Acme Events"
    assert not SaleItem.objects.exclude(name="Untouched").exists()


def test_viewer_reads_every_object_page(personas: Any) -> None:
    client = client_for(personas.viewer_a_user)
    for url in object_urls(personas):
        assert client.get(url).status_code == 200, url


def test_platform_pages_are_403_for_resellers(personas: Any) -> None:
    client = client_for(personas.admin_a_user)
    for name in ("resellers:list", "resellers:create", "catalog:index"):
        assert client.get(reverse(name)).status_code == 403


def test_reseller_settings_page_scoping(personas: Any) -> None:
    url = reverse("resellers:edit", args=[personas.reseller_a.pk])
    assert client_for(personas.admin_b_user).get(url).status_code == 404
    assert client_for(personas.viewer_a_user).get(url).status_code == 200
    assert client_for(personas.viewer_a_user).post(url, {}).status_code == 403
    # The admin's form has no identity fields: a forged name or slug is ignored.
    response = client_for(personas.admin_a_user).post(url, {"name": "Hacked", "slug": "hacked"})
    assert response.status_code == 302
    personas.reseller_a.refresh_from_db()
    assert (personas.reseller_a.name, personas.reseller_a.slug) == (
        "Northwind Tickets",
        "northwind",
    )


def test_api_key_revoke_is_404_for_an_outsider_and_403_for_a_viewer(personas: Any) -> None:
    from partnerhub.accounts.services import api_key_create

    key, _ = api_key_create(
        actor=personas.admin_a, scope="reseller_admin", reseller_id=personas.reseller_a.pk
    )
    url = reverse("accounts:revoke", args=[key.pk])
    assert client_for(personas.admin_b_user).post(url).status_code == 404
    assert client_for(personas.viewer_a_user).post(url).status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is None


def test_plan_toggle_over_htmx_answers_the_toggle_only(personas: Any) -> None:
    client = client_for(personas.admin_a_user)
    url = reverse("plans:toggle", args=[personas.plan_a.pk, "visible"])
    response = client.post(url, {}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b"Visibility:</span> Hidden" in response.content
    assert b"<html" not in response.content
    assert Plan.objects.get(pk=personas.plan_a.pk).visible is False
    assert AuditEvent.objects.filter(action="plan.set_visible").count() == 1


def _plans_list_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("plans:list"))
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("who", ["admin_a_user", "platform_user"])
def test_plans_list_costs_a_constant_number_of_queries(personas: Any, who: str) -> None:
    client = client_for(getattr(personas, who))
    client.get(reverse("plans:list"))  # warm the session and content types
    few = _plans_list_queries(client)
    for i in range(8):
        plan = PlanFactory(
            reseller=personas.reseller_a if i % 2 else personas.reseller_b,
            name=f"extra-{i}",
            features=["seating", "vouchers"],
        )
        CompanyFactory.create_batch(3, reseller=plan.reseller, plan=plan)
    many = _plans_list_queries(client)
    assert many == few
    # +2 since the cards count funnelled features (the resellers' features, prefetched).
    assert few <= 16


def test_a_refused_action_is_explained_on_the_page_it_came_from(personas: Any) -> None:
    from partnerhub.plans.services import plan_delete

    plan_delete(actor=personas.admin_a, plan_id=personas.plan_a.pk)
    client = client_for(personas.admin_a_user)
    url = reverse("plans:action", args=[personas.plan_a.pk, "archive"])
    response = client.post(url, HTTP_REFERER="http://testserver/plans/?deleted=1")
    assert response.status_code == 302
    assert response["Location"] == "http://testserver/plans/?deleted=1"
    page = client.get("/plans/?deleted=1")
    assert b"This plan is deleted: restore it first." in page.content
    htmx = client.post(
        reverse("plans:toggle", args=[personas.plan_a.pk, "enabled"]), HTTP_HX_REQUEST="true"
    )
    assert htmx["HX-Refresh"] == "true"
    assert not Plan.objects.get(pk=personas.plan_a.pk).archived


def test_registration_form_is_rate_limited(personas: Any, settings: Any) -> None:
    from django.core.cache import cache

    cache.clear()
    settings.REGISTRATION_RATE_LIMIT = 1
    url = reverse("registration:register", args=["northwind"])
    data = {"company_name": "First Co", "contact_email": "a@first.test"}
    assert Client().post(url, data).status_code == 302  # to the welcome page
    response = Client().post(url, {**data, "company_name": "Second Co"})
    assert response.status_code == 429
    assert b"Too many registration attempts" in response.content
    from partnerhub.companies.models import Company

    assert list(
        Company.objects.filter(name__in=["First Co", "Second Co"]).values_list("name", flat=True)
    ) == ["First Co"]
    cache.clear()


def test_job_fragment_polls_while_running_and_stops_when_finished(personas: Any) -> None:
    job = RecalcJob.objects.create(
        reseller=personas.reseller_a,
        company_ids=[personas.company_a.pk],
        status="running",
        companies_total=2,
        companies_done=1,
        items_total=6,
        items_done=3,
    )
    client = client_for(personas.viewer_a_user)
    url = reverse("fees:job_progress", args=[job.pk])
    running = client.get(url).content.decode()
    assert 'hx-trigger="every 1s"' in running
    assert "50 %" in running and "1 of 2" in running and "3 of 6" in running
    RecalcJob.objects.filter(pk=job.pk).update(status="succeeded", companies_done=2, items_done=6)
    finished = client.get(url).content.decode()
    assert "hx-trigger" not in finished
    assert "100 %" in finished and "Finished" in finished


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("who", ["admin_a_user", "platform_user"])
def test_companies_list_costs_a_constant_number_of_queries(personas: Any, who: str) -> None:
    client = client_for(getattr(personas, who))
    url = reverse("companies:list")
    client.get(url)
    few = _queries(client, url)
    for reseller in (personas.reseller_a, personas.reseller_b):
        CompanyFactory.create_batch(5, reseller=reseller)
    CompanyFactory.create_batch(5, reseller=personas.reseller_a, plan=personas.plan_a)
    assert _queries(client, url) == few


def test_plans_list_empty_state_helps(personas: Any) -> None:
    Plan.objects.filter(reseller=personas.reseller_b).delete()
    page = client_for(personas.admin_b_user).get(reverse("plans:list")).content.decode()
    assert "No plans yet" in page and "Create Plan" in page
    filtered = client_for(personas.admin_a_user).get(reverse("plans:list") + "?name=zzz")
    assert "No plans match these filters" in filtered.content.decode()
