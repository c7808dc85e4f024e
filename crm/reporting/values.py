"""The values a report definition compares fields with: type-checked and bounded here, so every
one binds as a database parameter (SQLite and PostgreSQL integers are 64-bit; Python's are not).
"""

from __future__ import annotations

import math
from typing import Any

from crm.reporting.catalog import Field
from crm.reporting.results import ValueType

MAX_TEXT_VALUE = 200
MIN_WHOLE, MAX_WHOLE = -(2**63), 2**63 - 1


def is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _whole_in_range(field: Field, value: int) -> int:
    if not MIN_WHOLE <= value <= MAX_WHOLE:
        raise ValueError(
            f"{field.name} takes whole numbers that fit in 64 bits (from {MIN_WHOLE} to {MAX_WHOLE}),"
            f" not {value!r:.40}"
        )
    return value


def checked_value(field: Field, value: Any) -> Any:
    """``value`` if ``field`` may be compared with it; ``ValueError`` saying why not otherwise."""
    if field.flag:
        if not isinstance(value, bool):
            raise ValueError(f"{field.name} is yes/no: true or false, not {value!r:.40}")
        return value
    if field.type is ValueType.TEXT:
        if not isinstance(value, str) or len(value) > MAX_TEXT_VALUE:
            raise ValueError(
                f"{field.name} takes text of at most {MAX_TEXT_VALUE} characters, not {value!r:.40}"
            )
        return value
    if field.type is ValueType.INT:
        if not is_whole(value):
            raise ValueError(f"{field.name} takes a whole number, not {value!r:.40}")
        return _whole_in_range(field, value)
    if is_whole(value):
        return _whole_in_range(field, value)
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise ValueError(f"{field.name} takes a number, not {value!r:.40}")
