"""The web hub's URLs: layout here, each domain's screens from its app's urls.py."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from partnerhub.web import views

# Static files (the hub's own CSS/JS, no CDN) are served by WhiteNoise's middleware:
# from the apps' folders in development, from STATIC_ROOT (collected by `serve`) otherwise.
layout_patterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.dashboard, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
]

# Each app's urls.py sets its own namespace (plans:list, companies:edit, …).
urlpatterns = [
    path("", include((layout_patterns, "web"))),
    path("plans/", include("partnerhub.plans.urls")),
    path("companies/", include("partnerhub.companies.urls")),
    path("statements/", include("partnerhub.statements.urls")),
    path("", include("partnerhub.fees.urls")),
    path("resellers/", include("partnerhub.resellers.urls")),
    path("catalog/", include("partnerhub.catalog.urls")),
    path("audit/", include("partnerhub.audit.urls")),
    path("api-keys/", include("partnerhub.accounts.urls")),
    path("webhooks/", include("partnerhub.web.webhooks")),
    path("r/", include("partnerhub.registration.urls")),
]
