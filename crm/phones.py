"""Phone numbers to E.164 (mainland China by default): mobiles, landlines with area codes, 400/800.

Caller IDs arrive in many shapes (``13800138000``, ``+86 138 0013 8000``, ``8613800138000``,
``010-12345678``, ``400-812-3456``); every one is stored and searched as E.164.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType

from crm.errors import InvalidPhoneNumber
from crm.kinds import PhoneKind

DEFAULT_REGION = "CN"
# The common case on a mainland hotline, decided without the full parser.
_CN_MOBILE = re.compile(r"(?:\+?86|0086)?(1[3-9]\d{9})")
_SEPARATORS = re.compile(r"[\s\-().]")
_KINDS = {
    PhoneNumberType.MOBILE: PhoneKind.MOBILE,
    PhoneNumberType.FIXED_LINE: PhoneKind.LANDLINE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE: PhoneKind.LANDLINE,
    PhoneNumberType.TOLL_FREE: PhoneKind.TOLL_FREE,
    PhoneNumberType.SHARED_COST: PhoneKind.TOLL_FREE,
}


@dataclass(frozen=True, slots=True)
class PhoneNumber:
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
    return PhoneNumber(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), kind)


def try_normalize_phone(raw: str, region: str = DEFAULT_REGION) -> PhoneNumber | None:
    try:
        return normalize_phone(raw, region)
    except InvalidPhoneNumber:
        return None
