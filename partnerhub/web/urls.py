"""The web hub's URLs: layout here, each domain's screens from its app's urls.py."""

from django.contrib.auth import views as auth_views
from django.contrib.staticfiles.views import serve as staticfiles_serve
from django.http import FileResponse, HttpRequest, HttpResponse
from django.urls import include, path, re_path
from django.views.decorators.cache import cache_control

from partnerhub.web import views


@cache_control(public=True, max_age=3600)
def static(request: HttpRequest, path: str) -> HttpResponse | FileResponse:
    # The hub ships its own CSS/JS (no CDN); `partnerhub serve` has no separate static
    # server, so the app's finders serve them. A fronting proxy may serve STATIC_ROOT instead.
    return staticfiles_serve(request, path, insecure=True)


layout_patterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.dashboard, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    re_path(r"^static/(?P<path>.+)$", static, name="static"),
]

# Each app's urls.py sets its own namespace (plans:list, companies:edit, …).
urlpatterns = [
    path("", include((layout_patterns, "web"))),
    path("plans/", include("partnerhub.plans.urls")),
    path("companies/", include("partnerhub.companies.urls")),
    path("", include("partnerhub.fees.urls")),
    path("resellers/", include("partnerhub.resellers.urls")),
    path("catalog/", include("partnerhub.catalog.urls")),
    path("audit/", include("partnerhub.audit.urls")),
    path("api-keys/", include("partnerhub.accounts.urls")),
    path("r/", include("partnerhub.registration.urls")),
]
