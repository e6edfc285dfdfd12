"""Users' roles and API keys (SPEC §1, §9)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Membership(models.Model):
    """A hub user's role: the platform operator, or an admin/viewer of one reseller."""

    class Role(models.TextChoices):
        PLATFORM = "platform", "Platform operator"
        ADMIN = "reseller_admin", "Reseller admin"
        VIEWER = "reseller_viewer", "Reseller viewer"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    reseller = models.ForeignKey(
        "resellers.Reseller",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="memberships",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(role="platform") & Q(reseller__isnull=True))
                | (~Q(role="platform") & Q(reseller__isnull=False)),
                name="membership_reseller_matches_role",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"


API_KEY_NAME_MAX_LENGTH = 120


class ApiKey(models.Model):
    """A bearer key. Only a SHA-256 of the secret is stored; the secret is shown once."""

    class Scope(models.TextChoices):
        PLATFORM = "platform", "Platform"
        RESELLER_ADMIN = "reseller_admin", "Reseller admin"
        RESELLER_VIEWER = "reseller_viewer", "Reseller viewer"
        COMPANY = "company", "Company"

    name = models.CharField(max_length=API_KEY_NAME_MAX_LENGTH, blank=True, default="")
    prefix = models.CharField(max_length=16, unique=True)  # public part, used to look the key up
    hashed_secret = models.CharField(max_length=64)  # hex SHA-256 of the whole key
    scope = models.CharField(max_length=20, choices=Scope.choices)
    reseller = models.ForeignKey(
        "resellers.Reseller",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_keys",
    )
    company = models.ForeignKey(
        "companies.Company",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_keys",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.scope})"


class RateCounter(models.Model):
    """One fixed-window counter of attempts (login failures, registrations), in the database
    so that every web process, on SQLite as on PostgreSQL, counts against the same number
    (a local-memory cache would give each process its own budget)."""

    key = models.CharField(max_length=120, unique=True)  # "<purpose>:<digest>:<window start>"
    count = models.PositiveIntegerField(default=0)
    expires_at = models.BigIntegerField(db_index=True)  # Unix seconds; then the row is dropped

    def __str__(self) -> str:
        return f"{self.key}={self.count}"
