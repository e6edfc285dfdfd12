from django.urls import path

from partnerhub.catalog import views

app_name = "catalog"

urlpatterns = [
    path("", views.catalog_index, name="index"),
    path("features/<int:feature_id>/", views.feature_edit, name="feature_edit"),
]
