"""Only the API, mounted where partnerhub/urls.py mounts it: API tests do not depend on the hub."""

from django.urls import path

from partnerhub.api.urls import api

urlpatterns = [path("api/", api.urls)]
