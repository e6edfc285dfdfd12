"""The platform's catalog: features, limits, fee types, currencies, gateway fees, GST."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from partnerhub.accounts.hub import actor_of, form_add_domain_errors, hub_view
from partnerhub.catalog import selectors
from partnerhub.catalog.forms import (
    CurrencyForm,
    FeatureEditForm,
    FeatureForm,
    FeeTypeForm,
    GatewayFeesForm,
    LimitForm,
    TaxForm,
)
from partnerhub.catalog.services import (
    currency_create,
    feature_create,
    feature_update,
    fee_type_create,
    gateway_fees_set,
    limit_create,
    tax_set,
)
from partnerhub.core.errors import Conflict, ValidationFailed
from partnerhub.core.money import bps_to_percent_str, minor_to_major_str


def _forms(data: Any = None, which: str = "") -> dict[str, Any]:
    currencies = [c.code for c in selectors.currency_list()]
    gateway_initial: dict[str, str] = {}
    for fee in selectors.gateway_fee_list():
        gateway_initial[f"percent_{fee.currency_id}"] = bps_to_percent_str(fee.percent_bps)
        gateway_initial[f"fixed_{fee.currency_id}"] = minor_to_major_str(
            fee.fixed_minor, fee.currency_id
        )
    tax_initial = {"gst_percent": bps_to_percent_str(selectors.tax_get().gst_rate_bps)}
    return {
        "feature_form": FeatureForm(data if which == "feature" else None, prefix="feature"),
        "limit_form": LimitForm(data if which == "limit" else None, prefix="limit"),
        "fee_type_form": FeeTypeForm(data if which == "fee_type" else None, prefix="fee_type"),
        "currency_form": CurrencyForm(data if which == "currency" else None, prefix="currency"),
        "gateway_form": GatewayFeesForm(
            data if which == "gateway" else None, initial=gateway_initial, currencies=currencies
        ),
        "tax_form": TaxForm(data if which == "tax" else None, initial=tax_initial),
    }


# The services' field names that a hub form calls otherwise.
_ALIASES = {"gst_rate_bps": "gst_percent"}


def _handle(request: HttpRequest, which: str, forms: dict[str, Any]) -> bool:
    actor = actor_of(request)
    form = forms[f"{which}_form"]
    if not form.is_valid():
        return False
    try:
        if which == "feature":
            feature_create(actor=actor, **form.cleaned_data)
        elif which == "limit":
            limit_create(actor=actor, **form.cleaned_data)
        elif which == "fee_type":
            fee_type_create(actor=actor, **form.cleaned_data)
        elif which == "currency":
            currency_create(actor=actor, **form.cleaned_data)
        elif which == "gateway":
            entries = form.entries()
            if form.errors:
                return False
            gateway_fees_set(actor=actor, entries=entries)
        else:
            rate = form.gst_rate_bps()
            if rate is None:
                return False
            tax_set(actor=actor, gst_rate_bps=rate)
    except (ValidationFailed, Conflict) as exc:
        if which == "gateway":
            form.add_service_errors(exc)
        else:
            form_add_domain_errors(
                form, ValidationFailed(exc.message, details=exc.details), aliases=_ALIASES
            )
        return False
    return True


@hub_view
def catalog_index(request: HttpRequest) -> HttpResponse:
    actor_of(request).require_platform()
    which = request.POST.get("form", "")
    forms = _forms(request.POST if request.method == "POST" else None, which)
    saved = request.method == "POST" and which in (
        "feature",
        "limit",
        "fee_type",
        "currency",
        "gateway",
        "tax",
    )
    if saved and _handle(request, which, forms):
        messages.success(request, "Catalog saved.")
        return redirect("catalog:index")
    context = {
        **forms,
        "features": selectors.feature_list(),
        "limits": selectors.limit_list(),
        "fee_types": selectors.fee_type_list(),
        "currencies": selectors.currency_list(),
    }
    return render(request, "catalog/index.html", context)


@hub_view
def feature_edit(request: HttpRequest, feature_id: int) -> HttpResponse:
    actor = actor_of(request)
    actor.require_platform()
    feature = selectors.feature_get(feature_id)
    initial = {"name": feature.name, "description": feature.description}
    form = FeatureEditForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            feature_update(actor=actor, feature_id=feature.pk, **form.cleaned_data)
        except ValidationFailed as exc:
            form_add_domain_errors(form, exc)
        else:
            messages.success(request, f'Saved feature "{feature.key}".')
            return redirect("catalog:index")
    return render(request, "catalog/feature_edit.html", {"feature": feature, "form": form})
