from django.urls import path

from partnerhub.resellers import views

app_name = "resellers"

urlpatterns = [
    path("", views.reseller_list, name="list"),
    path("new/", views.reseller_new, name="create"),
    path("<int:reseller_id>/", views.reseller_edit, name="edit"),
]
