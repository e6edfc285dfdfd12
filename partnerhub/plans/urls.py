from django.urls import path, re_path

from partnerhub.plans import views

app_name = "plans"

urlpatterns = [
    path("", views.plan_list, name="list"),
    path("new/", views.plan_new, name="create"),
    path("<int:plan_id>/", views.plan_edit, name="edit"),
    path("<int:plan_id>/restore/", views.plan_restore_form, name="restore"),
    re_path(
        r"^(?P<plan_id>[0-9]+)/(?P<flag>enabled|visible)/toggle/$", views.plan_toggle, name="toggle"
    ),
    re_path(
        r"^(?P<plan_id>[0-9]+)/(?P<action>duplicate|archive|unarchive|delete)/$",
        views.plan_action,
        name="action",
    ),
]
