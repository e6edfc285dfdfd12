"""The public self-service registration form at /r/<reseller-slug>/register (SPEC §7)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from partnerhub.accounts.hub import form_add_domain_errors, public_view
from partnerhub.catalog.choices import limit_rows
from partnerhub.core import wording
from partnerhub.core.errors import RateLimited, ValidationFailed
from partnerhub.core.http import client_address
from partnerhub.plans.selectors import (
    gst_rate_bps,
    plan_public_serialize,
    plan_registration_choices,
)
from partnerhub.registration.forms import RegistrationForm
from partnerhub.registration.ratelimit import registration_rate_check
from partnerhub.registration.services import company_register
from partnerhub.resellers.selectors import reseller_get_by_slug


@public_view
def register(request: HttpRequest, slug: str) -> HttpResponse:
    reseller = reseller_get_by_slug(slug)
    gst_rate = gst_rate_bps()
    catalog = [plan_public_serialize(p, gst_rate) for p in plan_registration_choices(reseller)]
    _add_card_words(catalog)
    form = RegistrationForm(
        request.POST or None,
        plan_choices=[(str(p["id"]), p["display_name"]) for p in catalog],
    )
    radios = list(form["plan_id"]) if "plan_id" in form.fields else []
    context = {
        "reseller": reseller,
        "form": form,
        "no_preference": radios[0] if radios else None,
        "plan_options": list(zip(radios[1:], catalog, strict=True)),
    }
    if request.method == "POST":
        try:
            registration_rate_check(client_address(request))
        except RateLimited as exc:
            form.add_error(None, exc.message)
            return render(request, "registration/register.html", context, status=429)
        if form.is_valid():
            try:
                company = company_register(reseller_slug=slug, **form.cleaned_data)
            except ValidationFailed as exc:
                form_add_domain_errors(form, exc)
            else:
                # POST/redirect/GET: reloading the welcome page must not register again.
                # The page shows what the visitor just sent, kept in their session only.
                request.session[_done_key(slug)] = {
                    "name": company.name,
                    "contact_email": company.contact_email,
                    "plan_display_name": company.plan.display_name if company.plan else "",
                }
                return redirect("registration:done", slug=slug)
    return render(request, "registration/register.html", context)


def _add_card_words(catalog: list[dict[str, Any]]) -> None:
    """What each plan card says (issue #13): its features and limits by name, and "Free"
    rather than "GBP 0.00 / yearly" for a plan that costs nothing."""
    if not catalog:
        return
    names = {key: name for key, name, _ in limit_rows()}
    for plan in catalog:
        plan["free"] = all(p["amount_minor"] == 0 for p in plan["prices"]) and plan["prices"]
        plan["paid_prices"] = [p for p in plan["prices"] if p["amount_minor"] != 0]
        plan["limit_lines"] = [
            wording.limit_line(names.get(key, key), value)
            for key, value in plan["limits"].items()
            if key in names
        ]


def _done_key(slug: str) -> str:
    return f"registration_done:{slug}"


@public_view
def register_done(request: HttpRequest, slug: str) -> HttpResponse:
    reseller = reseller_get_by_slug(slug)
    company = request.session.get(_done_key(slug))
    if company is None:  # nothing registered in this session: the form
        return redirect("registration:register", slug=slug)
    return render(request, "registration/done.html", {"reseller": reseller, "company": company})
