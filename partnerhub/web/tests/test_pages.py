"""Every hub page renders for the roles that may see it (Django test client)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_anonymous_is_sent_to_login(personas) -> None:
    response = Client().get(reverse("plans:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))


@pytest.mark.parametrize(
    "name,args",
    [
        ("web:home", []),
        ("plans:list", []),
        ("plans:create", []),
        ("companies:list", []),
        ("fees:job_list", []),
        ("audit:list", []),
        ("accounts:api_keys", []),
    ],
)
def test_admin_pages_render(personas, name: str, args: list) -> None:
    response = client_for(personas.admin_a_user).get(reverse(name, args=args))
    assert response.status_code == 200, response.content[:2000]


def test_admin_object_pages_render(personas) -> None:
    client = client_for(personas.admin_a_user)
    for url in (
        reverse("plans:edit", args=[personas.plan_a.pk]),
        reverse("companies:edit", args=[personas.company_a.pk]),
        reverse("fees:sale_items", args=[personas.company_a.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200, (url, response.content[:3000])


@pytest.mark.parametrize(
    "name", ["resellers:list", "catalog:index", "resellers:create", "plans:list"]
)
def test_platform_pages_render(personas, name: str) -> None:
    response = client_for(personas.platform_user).get(reverse(name))
    assert response.status_code == 200, response.content[:2000]


def test_platform_reseller_edit_renders(personas) -> None:
    url = reverse("resellers:edit", args=[personas.reseller_a.pk])
    assert client_for(personas.platform_user).get(url).status_code == 200


def test_registration_form_renders(personas) -> None:
    response = Client().get(reverse("registration:register", args=["northwind"]))
    assert response.status_code == 200
    assert b"Create your account" in response.content
