"""Who is acting. Every service and selector takes an Actor; tenancy is decided here."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.db.models import Q

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


# The tenant scope, written once (STYLE.md: one access rule per object kind). Every scoped
# selector filters its rows with one of these; `company_terms` is the same rule for a
# company known only by its ids.
NOTHING = Q(pk__in=[])


def reseller_scope(actor: Actor, field: str = "reseller_id") -> Q:
    """Rows that belong to a reseller (`field` names it): the platform sees every
    reseller's, a reseller member its own, anyone else (a company key) none."""
    if actor.is_platform:
        return Q()
    if actor.is_reseller_member and actor.reseller_id is not None:
        return Q(**{field: actor.reseller_id})
    return NOTHING


def company_terms(actor: Actor) -> dict[str, int | None] | None:
    """The companies an actor may see, as field = value terms on a company ({}: all of
    them; None: none): a company key sees its own company, a reseller member its
    reseller's."""
    if actor.is_platform:
        return {}
    if actor.role == Role.COMPANY:
        return {"pk": actor.company_id}
    if actor.is_reseller_member:
        return {"reseller_id": actor.reseller_id}
    return None


def company_scope(actor: Actor, company: str = "pk", reseller: str = "reseller_id") -> Q:
    """Rows that belong to a company: `company_terms` with the row's own field names
    (`company` for the company's id, `reseller` for its reseller's)."""
    terms = company_terms(actor)
    if terms is None:
        return NOTHING
    names = {"pk": company, "reseller_id": reseller}
    return Q(**{names[name]: value for name, value in terms.items()})


SYSTEM = Actor(role=Role.SYSTEM, label="system")


def platform_actor(label: str = "platform") -> Actor:
    return Actor(role=Role.PLATFORM, label=label)
