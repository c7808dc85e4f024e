from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm.errors import InvalidPhoneNumber
from crm.kinds import PhoneKind
from crm.phones import normalize_phone, try_normalize_phone


@pytest.mark.parametrize(
    ("raw", "e164", "kind"),
    [
        ("13800138000", "+8613800138000", PhoneKind.MOBILE),
        ("+86 138 0013 8000", "+8613800138000", PhoneKind.MOBILE),
        ("8613800138000", "+8613800138000", PhoneKind.MOBILE),
        ("008613800138000", "+8613800138000", PhoneKind.MOBILE),
        ("010-12345678", "+861012345678", PhoneKind.LANDLINE),
        ("(021) 6888 8888", "+862168888888", PhoneKind.LANDLINE),
        ("0755 1234 5678", "+8675512345678", PhoneKind.LANDLINE),
        ("400-812-3456", "+864008123456", PhoneKind.TOLL_FREE),
        ("8008101234", "+868008101234", PhoneKind.TOLL_FREE),
    ],
)
def test_mainland_numbers_in_every_written_form_become_e164(raw: str, e164: str, kind: PhoneKind) -> None:
    number = normalize_phone(raw)
    assert (number.e164, number.kind) == (e164, kind)


@pytest.mark.parametrize("raw", ["", "abc", "12345", "anonymous", "1" * 200])
def test_what_is_not_a_number_is_refused_with_the_reason(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone(raw)


@given(st.text(max_size=60))
def test_any_text_either_normalizes_or_is_refused_cleanly(raw: str) -> None:
    number = try_normalize_phone(raw)
    assert number is None or number.e164.startswith("+")


def test_a_remembered_landline_shape_never_lets_a_shorter_invalid_number_through() -> None:
    assert normalize_phone("0371-12345678").e164 == "+8637112345678"
    assert normalize_phone("0371 8765 4321").e164 == "+8637187654321"  # the remembered shape
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone("0371-1234567")  # Zhengzhou numbers have eight digits
