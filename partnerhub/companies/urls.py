from django.urls import path

from partnerhub.companies import views

app_name = "companies"

urlpatterns = [
    path("", views.company_list, name="list"),
    path("new/", views.company_new, name="create"),
    path("<int:company_id>/", views.company_edit, name="edit"),
    path("<int:company_id>/resync/", views.company_resync, name="resync"),
    path("<int:company_id>/reset-plan-fees/", views.company_reset_fees, name="reset_fees"),
]
