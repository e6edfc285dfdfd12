from django.contrib import admin
from django.urls import include, path

from partnerhub.api.urls import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("", include("partnerhub.web.urls")),
]
