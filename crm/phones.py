"""Phone numbers to E.164 (mainland China by default): mobiles, landlines with area codes, 400/800.

Caller IDs arrive in many shapes (``13800138000``, ``+86 138 0013 8000``, ``8613800138000``,
``010-12345678``, ``400-812-3456``); every one is stored and searched as E.164.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import phonenumbers
from phonenumbers import PhoneNumberType

from crm.errors import InvalidPhoneNumber
from crm.kinds import PhoneKind

DEFAULT_REGION = "CN"
# The common case on a mainland hotline, decided without the full parser.
_CN_MOBILE = re.compile(r"(?:\+?86|0086)?(1[3-9]\d{9})")
_CN_NATIONAL = re.compile(r"(?:(?:\+?86|0086)0?|0)(10|2\d|[3-9]\d\d)(\d{7,8})")
# (area code, subscriber length, first digit) → kind, for shapes the full parser has accepted:
# a landline costs ~40 µs in phonenumbers, and an import of a million rows meets the same few
# thousand shapes over and over. Only accepted shapes are remembered, so a rejection is always
# the full parser's own.
_SHAPES: dict[tuple[str, int, str], PhoneKind] = {}
_SEPARATORS = re.compile(r"[\s\-().]")
_KINDS = {
    PhoneNumberType.MOBILE: PhoneKind.MOBILE,
    PhoneNumberType.FIXED_LINE: PhoneKind.LANDLINE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE: PhoneKind.LANDLINE,
    PhoneNumberType.TOLL_FREE: PhoneKind.TOLL_FREE,
    PhoneNumberType.SHARED_COST: PhoneKind.TOLL_FREE,
}


class PhoneNumber(NamedTuple):
    """A number in E.164 and its kind. A NamedTuple rather than a frozen dataclass: an import
    builds one per row, and this is several times cheaper to construct."""

    e164: str
    kind: PhoneKind


def normalize_phone(raw: str, region: str = DEFAULT_REGION) -> PhoneNumber:
    """The number in E.164 with its kind; raises :class:`InvalidPhoneNumber` if it is not one."""
    text = _SEPARATORS.sub("", raw.strip())
    if not text:
        raise InvalidPhoneNumber(raw, "empty")
    fast = _CN_MOBILE.fullmatch(text)
    if fast is not None and region == DEFAULT_REGION:
        return PhoneNumber("+86" + fast.group(1), PhoneKind.MOBILE)
    national = _CN_NATIONAL.fullmatch(text) if region == DEFAULT_REGION else None
    if national is not None:
        area, subscriber = national.groups()
        kind = _SHAPES.get((area, len(subscriber), subscriber[0]))
        if kind is not None:
            return PhoneNumber(f"+86{area}{subscriber}", kind)
    if len(text) > 32:
        raise InvalidPhoneNumber(raw[:40], "too long")
    if text.startswith("86") and region == DEFAULT_REGION and len(text) >= 12:
        text = "+" + text
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(raw, str(exc.args[0]) if exc.args else "unparseable") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber(raw, "no such number in the numbering plan")
    kind = _KINDS.get(phonenumbers.number_type(parsed), PhoneKind.OTHER)
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if (
        national is not None
        and e164 == f"+86{national.group(1)}{national.group(2)}"
        and len(_SHAPES) < 20_000
    ):
        _SHAPES[(national.group(1), len(national.group(2)), national.group(2)[0])] = kind
    return PhoneNumber(e164, kind)


def try_normalize_phone(raw: str, region: str = DEFAULT_REGION) -> PhoneNumber | None:
    try:
        return normalize_phone(raw, region)
    except InvalidPhoneNumber:
        return None
