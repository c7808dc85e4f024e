"""Campaign target rules: rule-engine expressions over customer fields and contact history.

Analysts write rules such as ``segment == "gold" and vip_level >= 2 and contacts_30d < 3`` or
``"pets" in tags and not has_open_complaint``. A rule is compiled against the typed field list
below when the campaign is saved, so a misspelt field or a wrong type is refused there, not when
a customer calls.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from zoneinfo import ZoneInfo

import rule_engine

from crm.errors import InvalidTargetRule

FIELD_TYPES: dict[str, rule_engine.DataType] = {
    "name": rule_engine.DataType.STRING,
    "segment": rule_engine.DataType.STRING,
    "vip_level": rule_engine.DataType.FLOAT,
    "tags": rule_engine.DataType.ARRAY(rule_engine.DataType.STRING),
    "language": rule_engine.DataType.STRING,
    "owner_agent": rule_engine.DataType.STRING,
    "consent_marketing": rule_engine.DataType.BOOLEAN,
    "consent_sms": rule_engine.DataType.BOOLEAN,
    "consent_email": rule_engine.DataType.BOOLEAN,
    "has_email": rule_engine.DataType.BOOLEAN,
    "has_open_complaint": rule_engine.DataType.BOOLEAN,
    "open_tickets": rule_engine.DataType.FLOAT,
    "contacts_30d": rule_engine.DataType.FLOAT,
    "marketing_contacts_30d": rule_engine.DataType.FLOAT,
    # 9999 for a customer never contacted, so "days_since_last_contact > 90" includes them.
    "days_since_last_contact": rule_engine.DataType.FLOAT,
    "customer_days": rule_engine.DataType.FLOAT,
}

_CONTEXT = rule_engine.Context(
    type_resolver=rule_engine.type_resolver_from_dict(FIELD_TYPES),
    default_timezone=ZoneInfo("Asia/Shanghai"),
)


class TargetRule:
    """A compiled target rule; call ``matches(fields)`` with every name in FIELD_TYPES."""

    __slots__ = ("_rule", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._rule = _compile(text)

    def matches(self, fields: Mapping[str, object]) -> bool:
        return bool(self._rule.matches(fields))


@functools.lru_cache(maxsize=512)
def _compile(text: str) -> rule_engine.Rule:
    source = text.strip() or "true"
    if len(source) > 4000:
        raise InvalidTargetRule(text[:60], "longer than 4000 characters")
    try:
        return rule_engine.Rule(source, context=_CONTEXT)
    except rule_engine.errors.SymbolResolutionError as exc:
        known = ", ".join(sorted(FIELD_TYPES))
        raise InvalidTargetRule(text, f"unknown field {exc.symbol_name!r} (fields: {known})") from None
    except rule_engine.errors.EngineError as exc:
        raise InvalidTargetRule(text, getattr(exc, "message", str(exc))) from None


def validate_target_rule(text: str) -> str:
    """The rule text, if it compiles; raises :class:`InvalidTargetRule` saying why not."""
    TargetRule(text)
    return text
