from django.urls import path

from partnerhub.registration import views

app_name = "registration"

urlpatterns = [
    path("<slug:slug>/register", views.register, name="register"),
    path("<slug:slug>/register/welcome", views.register_done, name="done"),
]
