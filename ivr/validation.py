"""Digits a caller keys in: is this a ticket number, an order number, a phone number?"""

from __future__ import annotations

import phonenumbers

from ivr.nodes import DigitFormat

_LENGTHS = {DigitFormat.TICKET: (6, 12), DigitFormat.ORDER: (8, 20), DigitFormat.PHONE: (10, 12)}


def digits_valid(kind: DigitFormat, digits: str, min_digits: int, max_digits: int) -> bool:
    if not digits.isdigit() or not min_digits <= len(digits) <= max_digits:
        return False
    low, high = _LENGTHS.get(kind, (1, 64))
    if not low <= len(digits) <= high:
        return False
    if kind is DigitFormat.PHONE:
        try:
            number = phonenumbers.parse(digits, "CN")
        except phonenumbers.NumberParseException:
            return False
        return phonenumbers.is_valid_number(number)
    return True
