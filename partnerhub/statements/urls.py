from django.urls import path

from partnerhub.statements import views

app_name = "statements"

urlpatterns = [
    path("", views.statements_home, name="home"),
    path("resellers/<int:reseller_id>/", views.reseller_statements, name="reseller"),
    path("companies/<int:company_id>/", views.company_statements, name="company_list"),
    path("<int:statement_id>/", views.statement_detail, name="detail"),
    path("<int:statement_id>/csv/", views.statement_csv_download, name="csv"),
]
