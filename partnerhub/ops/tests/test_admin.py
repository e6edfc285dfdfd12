import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

PARTNERHUB_APPS = [
    "accounts",
    "catalog",
    "resellers",
    "plans",
    "companies",
    "fees",
    "audit",
    "sales",
    "statements",
]


def test_every_domain_model_is_in_the_admin():
    missing = [
        model._meta.label
        for label in PARTNERHUB_APPS
        for model in apps.get_app_config(label).get_models()
        if model not in admin.site._registry
    ]
    assert missing == []


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:plans_plan_changelist",
        "admin:companies_company_changelist",
        "admin:companies_plansnapshot_changelist",
        "admin:fees_saleitem_changelist",
        "admin:fees_recalcjob_changelist",
        "admin:fees_recalcchunk_changelist",
        "admin:audit_auditevent_changelist",
        "admin:accounts_apikey_changelist",
        "admin:resellers_reseller_changelist",
        "admin:catalog_feature_changelist",
    ],
)
def test_operator_browses_the_admin_but_cannot_add(personas, client, url_name):
    client.force_login(personas.platform_user)

    response = client.get(reverse(url_name))

    assert response.status_code == 200
    add = client.get(reverse(url_name.replace("changelist", "add")))
    assert add.status_code == 403


def test_plan_detail_page_is_read_only(personas, client):
    client.force_login(personas.platform_user)
    url = reverse("admin:plans_plan_change", args=[personas.plan_a.pk])

    response = client.get(url)
    posted = client.post(url, {"name": "hacked"})

    assert response.status_code == 200
    assert posted.status_code == 403
    personas.plan_a.refresh_from_db()
    assert personas.plan_a.name == "gold"
