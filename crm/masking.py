"""Which roles see sensitive customer fields in clear, and how the others see them."""

from __future__ import annotations

from crm.kinds import Role

SEES_SENSITIVE = frozenset({Role.SUPERVISOR, Role.ADMIN})


def mask_id_number(value: str | None, role: Role) -> str | None:
    """110105********1234 for an agent: enough to confirm with the caller, not to copy."""
    if value is None or role in SEES_SENSITIVE:
        return value
    if len(value) <= 8:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_address(value: str | None, role: Role) -> str | None:
    """The first six characters (province and city in a Chinese address), the rest hidden."""
    if value is None or role in SEES_SENSITIVE:
        return value
    return value[:6] + "****" if len(value) > 6 else "****"
