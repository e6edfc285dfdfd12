"""Who is acting. Every service and selector takes an Actor; tenancy is decided here."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from partnerhub.core.errors import NotFound, PermissionDenied


class Role(StrEnum):
    PLATFORM = "platform"
    RESELLER_ADMIN = "reseller_admin"
    RESELLER_VIEWER = "reseller_viewer"
    COMPANY = "company"
    ANONYMOUS = "anonymous"
    SYSTEM = "system"  # jobs and CLI commands run by the operator


@dataclass(frozen=True, slots=True)
class Actor:
    role: Role
    reseller_id: int | None = None
    company_id: int | None = None
    user_id: int | None = None
    api_key_id: int | None = None
    label: str = ""

    @property
    def is_platform(self) -> bool:
        return self.role in (Role.PLATFORM, Role.SYSTEM)

    @property
    def can_write(self) -> bool:
        return self.role in (Role.PLATFORM, Role.SYSTEM, Role.RESELLER_ADMIN)

    @property
    def is_reseller_member(self) -> bool:
        return self.role in (Role.RESELLER_ADMIN, Role.RESELLER_VIEWER)

    def sees_reseller(self, reseller_id: int) -> bool:
        return self.is_platform or (self.is_reseller_member and self.reseller_id == reseller_id)

    def sees_company(self, company_id: int, reseller_id: int) -> bool:
        if self.role == Role.COMPANY:
            return self.company_id == company_id
        return self.sees_reseller(reseller_id)

    def require_reseller(self, reseller_id: int) -> None:
        """404 for another tenant's reseller (never 403: no existence leak)."""
        if not self.sees_reseller(reseller_id):
            raise NotFound("Not found.")

    def require_write(self, reseller_id: int | None = None) -> None:
        # A company key is read-only: 403 on a write, even to its own company (which it can
        # see, so the refusal leaks nothing).
        if reseller_id is not None and self.role != Role.COMPANY:
            self.require_reseller(reseller_id)
        if not self.can_write:
            raise PermissionDenied("This account can read but not change data.")

    def require_platform(self) -> None:
        if not self.is_platform:
            raise PermissionDenied("Only the platform operator can do this.")


SYSTEM = Actor(role=Role.SYSTEM, label="system")


def platform_actor(label: str = "platform") -> Actor:
    return Actor(role=Role.PLATFORM, label=label)
