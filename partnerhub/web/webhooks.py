"""The hub's Webhooks page (SPEC §14): endpoints (add with the secret shown once, edit
event types, disable, rotate, send a test event) and the delivery log (filters, payload,
Resend one, Resend every failed one since a time).

It lives in web/ rather than in the webhooks app so that imports point one way
(domain app <- web): it uses the hub's helpers and the app's services and selectors.
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from partnerhub.accounts.hub import actor_of, form_add_domain_errors, hub_view
from partnerhub.core.errors import ValidationFailed
from partnerhub.resellers.selectors import reseller_list_for_actor
from partnerhub.webhooks.events import EVENT_TYPES
from partnerhub.webhooks.models import (
    ENDPOINT_DESCRIPTION_MAX_LENGTH,
    ENDPOINT_URL_MAX_LENGTH,
    Delivery,
)
from partnerhub.webhooks.selectors import (
    delivery_get_for_actor,
    delivery_list_for_actor,
    delivery_payload,
    endpoint_get_for_actor,
    endpoint_list_for_actor,
)
from partnerhub.webhooks.services import (
    delivery_resend,
    delivery_resend_failed,
    endpoint_create,
    endpoint_rotate_secret,
    endpoint_send_test,
    endpoint_update,
)

app_name = "webhooks"
NEW_SECRET_SESSION = "partnerhub_new_webhook_secret"
LOG_ROWS = 100
PLATFORM_CHOICE = ""  # the reseller field's value for a platform endpoint


class EndpointForm(forms.Form):
    url = forms.CharField(
        label="URL",
        max_length=ENDPOINT_URL_MAX_LENGTH,
        help_text="Where Partnerhub POSTs the signed events.",
    )
    description = forms.CharField(
        label="Description", max_length=ENDPOINT_DESCRIPTION_MAX_LENGTH, required=False
    )
    event_types = forms.MultipleChoiceField(
        label="Event types",
        required=False,
        choices=[(t, t) for t in EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event type.",
    )

    def changes(self) -> dict[str, Any]:
        cd = self.cleaned_data
        return {
            "url": cd["url"],
            "description": cd["description"],
            "event_types": list(cd["event_types"]),
        }


class NewEndpointForm(EndpointForm):
    reseller_id = forms.ChoiceField(label="Reseller", required=False)

    def __init__(self, *args: Any, resellers: list[tuple[int, str]] | None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if resellers is None:
            del self.fields["reseller_id"]
        else:
            cast(forms.ChoiceField, self.fields["reseller_id"]).choices = [
                (PLATFORM_CHOICE, "Platform (every reseller's events)"),
                *[(str(pk), name) for pk, name in resellers],
            ]


class DeliveryFilterForm(forms.Form):
    endpoint = forms.IntegerField(required=False, widget=forms.Select)
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *Delivery.Status.choices]
    )
    event_type = forms.ChoiceField(
        required=False, choices=[("", "Any event type"), *[(t, t) for t in EVENT_TYPES]]
    )


class ResendFailedForm(forms.Form):
    endpoint_id = forms.IntegerField(widget=forms.Select)
    since = forms.DateTimeField(
        label="Failed since (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
    )


def _endpoint_choices(endpoints: list[Any]) -> list[tuple[Any, str]]:
    return [(e.pk, f"#{e.pk} {e.url}") for e in endpoints]


def _deliveries(actor: Any, filters: DeliveryFilterForm) -> list[Delivery]:
    cd = filters.cleaned_data if filters.is_valid() else {}
    try:
        rows = delivery_list_for_actor(
            actor,
            endpoint_id=cd.get("endpoint") or None,
            status=cd.get("status") or None,
            event_type=cd.get("event_type") or None,
        )
    except ValidationFailed:
        return []
    return list(rows[:LOG_ROWS])


@never_cache  # the page may carry a new secret
@hub_view
def webhooks_page(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    resellers = (
        [(r.pk, r.name) for r in reseller_list_for_actor(actor)] if actor.is_platform else None
    )
    form = NewEndpointForm(request.POST or None, resellers=resellers)
    secret = request.session.pop(NEW_SECRET_SESSION, None) if request.method == "GET" else None
    if request.method == "POST" and form.is_valid():
        reseller_id = (
            int(form.cleaned_data["reseller_id"]) if form.cleaned_data.get("reseller_id") else None
        )
        try:
            created = endpoint_create(
                actor=actor,
                reseller_id=reseller_id if actor.is_platform else actor.reseller_id,
                **form.changes(),
            )
        except ValidationFailed as exc:
            form_add_domain_errors(form, exc)
        else:
            request.session[NEW_SECRET_SESSION] = {
                "endpoint_id": created.endpoint.pk,
                "secret": created.secret,
            }
            return redirect("webhooks:page")
    endpoints = list(endpoint_list_for_actor(actor).select_related("reseller"))
    filters = DeliveryFilterForm(request.GET or None)
    filters.fields["endpoint"].widget.choices = [
        ("", "Any endpoint"),
        *_endpoint_choices(endpoints),
    ]
    resend = ResendFailedForm(
        initial={
            "since": timezone.now().strftime("%Y-%m-%dT00:00"),
            "endpoint_id": endpoints[0].pk if endpoints else None,
        }
    )
    resend.fields["endpoint_id"].widget.choices = _endpoint_choices(endpoints)
    context = {
        "form": form,
        "endpoints": endpoints,
        "secret": secret,
        "filters": filters,
        "deliveries": _deliveries(actor, filters),
        "resend_form": resend,
    }
    return render(request, "webhooks/page.html", context)


@hub_view
def endpoint_edit(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    actor = actor_of(request)
    endpoint = endpoint_get_for_actor(actor, endpoint_id)
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types),
    }
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint_update(actor=actor, endpoint_id=endpoint.pk, changes=form.changes())
        except ValidationFailed as exc:
            form_add_domain_errors(form, exc)
        else:
            messages.success(request, "Endpoint saved.")
            return redirect("webhooks:page")
    return render(request, "webhooks/endpoint_edit.html", {"form": form, "endpoint": endpoint})


@hub_view
@require_POST
def endpoint_toggle(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    actor = actor_of(request)
    endpoint = endpoint_get_for_actor(actor, endpoint_id)
    endpoint_update(actor=actor, endpoint_id=endpoint.pk, changes={"enabled": not endpoint.enabled})
    messages.success(request, "Endpoint enabled." if not endpoint.enabled else "Endpoint disabled.")
    return redirect("webhooks:page")


@hub_view
@require_POST
def endpoint_rotate(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    rotated = endpoint_rotate_secret(actor=actor_of(request), endpoint_id=endpoint_id)
    request.session[NEW_SECRET_SESSION] = {
        "endpoint_id": rotated.endpoint.pk,
        "secret": rotated.secret,
        "rotated": True,
    }
    return redirect("webhooks:page")


@hub_view
@require_POST
def endpoint_test(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint_send_test(actor=actor_of(request), endpoint_id=endpoint_id)
    messages.success(request, "Test event queued; it shows in the delivery log below.")
    return redirect("webhooks:page")


@hub_view
def delivery_detail(request: HttpRequest, delivery_id: int) -> HttpResponse:
    delivery = delivery_get_for_actor(actor_of(request), delivery_id)
    payload = json.dumps(json.loads(delivery_payload(delivery)), indent=2, sort_keys=True)
    context = {"delivery": delivery, "payload": payload}
    return render(request, "webhooks/delivery_detail.html", context)


@hub_view
@require_POST
def delivery_resend_view(request: HttpRequest, delivery_id: int) -> HttpResponse:
    delivery = delivery_resend(actor=actor_of(request), delivery_id=delivery_id)
    messages.success(request, f"Delivery #{delivery.pk} will be sent again.")
    return redirect("webhooks:page")


@hub_view
@require_POST
def resend_failed_view(request: HttpRequest) -> HttpResponse:
    form = ResendFailedForm(request.POST)
    form.fields["endpoint_id"].widget.choices = []
    if not form.is_valid():
        messages.error(request, "Choose an endpoint and a time to resend failed deliveries.")
        return redirect("webhooks:page")
    since = form.cleaned_data["since"]
    if timezone.is_naive(since):
        since = timezone.make_aware(since, UTC)
    count = delivery_resend_failed(
        actor=actor_of(request), endpoint_id=form.cleaned_data["endpoint_id"], since=since
    )
    messages.success(request, f"{count} failed deliveries will be sent again.")
    return redirect("webhooks:page")


urlpatterns = [
    path("", webhooks_page, name="page"),
    path("endpoints/<int:endpoint_id>/", endpoint_edit, name="endpoint_edit"),
    path("endpoints/<int:endpoint_id>/toggle/", endpoint_toggle, name="endpoint_toggle"),
    path("endpoints/<int:endpoint_id>/rotate/", endpoint_rotate, name="endpoint_rotate"),
    path("endpoints/<int:endpoint_id>/test/", endpoint_test, name="endpoint_test"),
    path("deliveries/<int:delivery_id>/", delivery_detail, name="delivery_detail"),
    path("deliveries/<int:delivery_id>/resend/", delivery_resend_view, name="delivery_resend"),
    path("resend-failed/", resend_failed_view, name="resend_failed"),
]
