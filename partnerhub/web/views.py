"""Layout views: login, dashboard, static files for the self-contained server."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from partnerhub.accounts.hub import actor_of, hub_view
from partnerhub.accounts.login import ThrottledAuthenticationForm
from partnerhub.core.money import format_money
from partnerhub.resellers.selectors import reseller_list_for_actor
from partnerhub.usage.selectors import companies_nearest_limits
from partnerhub.web.charts import bar_chart
from partnerhub.web.selectors import dashboard_for_actor


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True


@hub_view
def dashboard(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    resellers = list(reseller_list_for_actor(actor)) if actor.is_platform else []
    reseller_id = None
    if actor.is_platform and request.GET.get("reseller", "").isdigit():
        reseller_id = int(request.GET["reseller"])
    data = dashboard_for_actor(actor, reseller_id)
    near_limits = companies_nearest_limits(actor, reseller_id=reseller_id)
    plan_chart = bar_chart(
        [(b.label, b.companies, str(b.companies)) for b in data.per_plan], unit="companies"
    )
    fee_charts = [
        (
            t,
            bar_chart(
                [
                    (
                        "Reseller fees",
                        t.reseller_fee_minor,
                        format_money(t.reseller_fee_minor, t.currency),
                    ),
                    (
                        "Gateway fees",
                        t.gateway_fee_minor,
                        format_money(t.gateway_fee_minor, t.currency),
                    ),
                ],
                unit=t.currency,
            ),
        )
        for t in data.fee_totals
    ]
    return render(
        request,
        "web/dashboard.html",
        {
            "data": data,
            "plan_chart": plan_chart,
            "fee_charts": fee_charts,
            "resellers": resellers,
            "reseller_id": reseller_id,
            "near_limits": near_limits,
        },
    )
