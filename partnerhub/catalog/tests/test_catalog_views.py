"""The hub's feature edit page: the platform renames a feature; nobody else may."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from partnerhub.audit.models import AuditEvent
from partnerhub.catalog.models import Feature

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_platform_renames_a_feature_and_the_change_is_audited(personas):
    feature = Feature.objects.get(key="seating")
    url = reverse("catalog:feature_edit", args=[feature.pk])
    client = client_for(personas.platform_user)
    assert "Save feature" in client.get(url).content.decode()
    response = client.post(url, {"name": "Reserved seating", "description": "Seat maps"})
    assert response.status_code == 302 and response["Location"] == reverse("catalog:index")
    feature.refresh_from_db()
    assert (feature.name, feature.description) == ("Reserved seating", "Seat maps")
    event = AuditEvent.objects.get(action="feature.update", object_id=feature.pk)
    assert event.changes["name"]["new"] == "Reserved seating"


def test_feature_edit_rejects_an_empty_name_and_keeps_the_feature(personas):
    feature = Feature.objects.get(key="seating")
    response = client_for(personas.platform_user).post(
        reverse("catalog:feature_edit", args=[feature.pk]), {"name": "", "description": ""}
    )
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert Feature.objects.get(pk=feature.pk).name == feature.name


@pytest.mark.parametrize("who", ["admin_a_user", "viewer_a_user", "admin_b_user"])
def test_only_the_platform_may_edit_a_feature(personas, who):
    feature = Feature.objects.get(key="seating")
    response = client_for(getattr(personas, who)).post(
        reverse("catalog:feature_edit", args=[feature.pk]), {"name": "Hacked"}
    )
    assert response.status_code == 403
    assert Feature.objects.get(pk=feature.pk).name != "Hacked"
    assert not AuditEvent.objects.filter(action="feature.update").exists()


def test_missing_feature_is_a_404_page(personas):
    response = client_for(personas.platform_user).get(reverse("catalog:feature_edit", args=[99999]))
    assert response.status_code == 404
