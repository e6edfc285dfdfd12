"""Audit events: who changed what, with old and new values (SPEC §10)."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

ACTOR_LABEL_MAX_LENGTH = 200
OBJECT_TYPE_MAX_LENGTH = 40
OBJECT_REPR_MAX_LENGTH = 200


class AuditEvent(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Tenancy: the reseller whose data changed (null for platform catalog writes).
    reseller = models.ForeignKey(
        "resellers.Reseller",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    actor_role = models.CharField(max_length=20)
    actor_label = models.CharField(max_length=ACTOR_LABEL_MAX_LENGTH, blank=True, default="")
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    actor_api_key_id = models.BigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=60)  # e.g. "plan.archive"
    object_type = models.CharField(max_length=OBJECT_TYPE_MAX_LENGTH)  # e.g. "plan"
    object_id = models.BigIntegerField(null=True, blank=True)
    object_repr = models.CharField(max_length=OBJECT_REPR_MAX_LENGTH, blank=True, default="")
    # {field: {"old": …, "new": …}}
    changes = models.JSONField(default=dict, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["reseller", "object_type", "object_id"], name="audit_object"),
            models.Index(fields=["reseller", "actor_label"], name="audit_actor"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id}"
