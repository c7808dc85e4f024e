"""Campaign target rules: rule-engine expressions over customer fields and contact history.

Analysts write rules such as ``segment == "gold" and vip_level >= 2 and contacts_30d < 3`` or
``"pets" in tags and not has_open_complaint``. A rule is compiled against the typed field list
below when the campaign is saved, so a misspelt field or a wrong type is refused there, not when
a customer calls.

Regular expressions in rules run on RE2 (crm.rule_regex), so no pattern can backtrack for
seconds. A rule that compiled can still fail for one customer (``1 / open_tickets`` for a customer
with none): ``matches`` then raises :class:`TargetRuleFailed`, and the caller disables the
campaign rather than the screen-pop or the report failing. ``count_matches`` runs a rule over a
batch within a time budget, for the reports, off the event loop.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Mapping
from zoneinfo import ZoneInfo

import rule_engine

from crm.errors import InvalidTargetRule, TargetRuleFailed
from crm.rule_regex import LinearTimeRule

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
        """Raises :class:`TargetRuleFailed` when the rule cannot be evaluated for these fields."""
        try:
            return bool(self._rule.matches(fields))
        except rule_engine.errors.EngineError as exc:
            raise TargetRuleFailed(self.text, getattr(exc, "message", "") or str(exc)) from None
        except (ArithmeticError, ValueError, TypeError) as exc:
            raise TargetRuleFailed(self.text, f"{type(exc).__name__}: {exc}") from None


def count_matches(
    rule: TargetRule,
    rows: Iterable[Mapping[str, object]],
    *,
    budget_s: float,
    clock: Callable[[], float] = time.perf_counter,
) -> int:
    """How many ``rows`` the rule matches. Blocking: run it in a worker thread. Raises
    :class:`TargetRuleFailed` if the rule fails on a row or the batch takes over ``budget_s``."""
    started = clock()
    matched = 0
    for fields in rows:
        matched += rule.matches(fields)
        if clock() - started > budget_s:
            raise TargetRuleFailed(rule.text, f"over its time budget of {budget_s:g} s")
    return matched


@functools.lru_cache(maxsize=512)
def _compile(text: str) -> rule_engine.Rule:
    source = text.strip() or "true"
    if len(source) > 4000:
        raise InvalidTargetRule(text[:60], "longer than 4000 characters")
    try:
        return LinearTimeRule(source, context=_CONTEXT)
    except rule_engine.errors.SymbolResolutionError as exc:
        known = ", ".join(sorted(FIELD_TYPES))
        raise InvalidTargetRule(text, f"unknown field {exc.symbol_name!r} (fields: {known})") from None
    except rule_engine.errors.EngineError as exc:
        raise InvalidTargetRule(text, getattr(exc, "message", str(exc))) from None


def validate_target_rule(text: str) -> str:
    """The rule text, if it compiles; raises :class:`InvalidTargetRule` saying why not."""
    TargetRule(text)
    return text
