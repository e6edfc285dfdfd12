from django.urls import path

from partnerhub.accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.api_keys, name="api_keys"),
    path("<int:api_key_id>/revoke/", views.api_key_revoke_view, name="revoke"),
]
