from django.urls import path

from partnerhub.fees import views

app_name = "fees"

urlpatterns = [
    path("jobs/", views.job_list, name="job_list"),
    path("jobs/<int:job_id>/", views.job_detail, name="job_detail"),
    path("jobs/<int:job_id>/progress/", views.job_progress_fragment, name="job_progress"),
    path("companies/<int:company_id>/sale-items/", views.sale_items, name="sale_items"),
    path("sale-items/<int:item_id>/", views.sale_item_edit, name="sale_item_edit"),
]
