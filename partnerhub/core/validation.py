"""Small, strict checks for JSON-like service input. Each failure names its field."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from partnerhub.core.errors import ValidationFailed
from partnerhub.core.limits import MAX_LIMIT_VALUE

# The longest email address (RFC 5321), wherever one is stored or accepted.
EMAIL_MAX_LENGTH = 254

# A feature, limit or fee type key (catalog.models re-exports it for its models and forms).
KEY_MAX_LENGTH = 64


def reject_unknown(data: Mapping[str, Any], allowed: Collection[str]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationFailed(
            f"Unknown field(s): {', '.join(unknown)}",
            details={name: ["unknown field"] for name in unknown},
        )


def clean_str(value: Any, field: str, *, max_length: int, required: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed.field(field, "must be a string")
    text = value.strip()
    if required and not text:
        raise ValidationFailed.field(field, "is required")
    if len(text) > max_length:
        raise ValidationFailed.field(field, f"must be at most {max_length} characters")
    return text


def clean_bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationFailed.field(field, "must be true or false")
    return value


def clean_int(value: Any, field: str, *, minimum: int = 0, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed.field(field, "must be an integer")
    if value < minimum:
        raise ValidationFailed.field(field, f"must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise ValidationFailed.field(field, f"must be at most {maximum}")
    return value


def clean_limits(value: Any, field: str, known_keys: Collection[str]) -> dict[str, int | None]:
    """{limit key: non-negative int, or None for unlimited}."""
    if not isinstance(value, Mapping):
        raise ValidationFailed.field(field, "must be an object of limit key to value")
    cleaned: dict[str, int | None] = {}
    for key, raw in value.items():
        if key not in known_keys:
            raise ValidationFailed.field(f"{field}.{key}", f"unknown limit {key!r}")
        cleaned[key] = (
            None if raw is None else clean_int(raw, f"{field}.{key}", maximum=MAX_LIMIT_VALUE)
        )
    return cleaned


def clean_keys(value: Any, field: str) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValidationFailed.field(field, "must be a list of keys")
    return sorted(set(value))
