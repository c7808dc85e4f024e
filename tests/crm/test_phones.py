from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm.errors import InvalidPhoneNumber
from crm.kinds import PhoneKind
from crm.phones import (
    _SEPARATORS,
    fast_normalize,
    fast_normalize_all,
    full_normalize,
    normalize_phone,
    try_normalize_phone,
)


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


def test_a_landline_of_the_wrong_length_for_its_area_is_refused() -> None:
    assert normalize_phone("0371-12345678").e164 == "+8637112345678"
    assert normalize_phone("0371 8765 4321").e164 == "+8637187654321"
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone("0371-1234567")  # Zhengzhou numbers have eight digits


# Every shape the fast path takes, and the near misses around it: prefixes, trunk zeros,
# national numbers of 7-12 digits starting anywhere (mobiles, carrier-selection prefixes,
# landlines, 400/800), separators, and digits that are not ASCII.
_PREFIXES = st.sampled_from(["", "0", "+86", "+860", "0086", "00860", "86", "860", "+", "00", "+8686"])
_LEADS = st.sampled_from(
    ["1", "13", "14", "15", "16", "17", "179", "18", "19", "11", "12", "10", "2", "3", "4"]
)
_LEADS |= st.sampled_from(["400", "800", "5", "6", "7", "8", "86", "9", "0"])
_SEPARATOR = st.sampled_from(["", "", "", " ", "-", "(", ")", ".", "\u3000"])


@st.composite
def _written_numbers(draw: st.DrawFn) -> str:
    national = draw(_LEADS) + draw(st.text("0123456789", min_size=5, max_size=11))
    if draw(st.integers(0, 9)) == 0:
        national = national.replace("1", "\uff11")  # full-width one
    pieces = [draw(_PREFIXES)]
    for start in range(0, len(national), 4):
        pieces.append(draw(_SEPARATOR) + national[start : start + 4])
    return "".join(pieces)


@settings(max_examples=3000, deadline=None)
@given(_written_numbers())
def test_the_fast_path_gives_exactly_what_phonenumbers_gives_whenever_it_answers(raw: str) -> None:
    fast = fast_normalize(_SEPARATORS.sub("", raw.strip()))
    if fast is None:
        return
    assert full_normalize(raw) == fast


@pytest.mark.parametrize("trunk", ["", "0", "+86", "0086", "86"])
def test_every_mobile_block_is_decided_as_phonenumbers_decides_it(trunk: str) -> None:
    # every four-digit block 1000-1999, each with a few subscriber numbers
    for block in range(1000, 2000):
        for tail in ("0000000", "4051234", "9999999"):
            raw = f"{trunk}{block}{tail}"
            fast = fast_normalize(raw)
            if fast is not None:
                assert full_normalize(raw) == fast, raw
            elif trunk == "" and str(block)[1] in "3456789" and not str(block).startswith("179"):
                with pytest.raises(InvalidPhoneNumber):
                    full_normalize(raw)  # the fast path passes only what the parser refuses


@pytest.mark.parametrize("trunk", ["0", "", "+86", "+860", "0086"])
def test_every_area_code_with_seven_and_eight_digit_subscribers_is_decided_as_phonenumbers_does(
    trunk: str,
) -> None:
    areas = ["10", *(f"2{d}" for d in range(10)), *(str(a) for a in range(300, 1000))]
    for area in areas:
        for subscriber in ("2345678", "12345678", "62345678", "8008101", "95123456"):
            raw = f"{trunk}{area}{subscriber}"
            fast = fast_normalize(raw)
            if fast is not None:
                assert full_normalize(raw) == fast, raw


def test_numbers_the_plan_does_not_have_are_refused_by_the_full_parser() -> None:
    for raw in ("14012345678", "15412345678", "19412345678", "0371-1234567"):
        with pytest.raises(InvalidPhoneNumber):
            normalize_phone(raw)


@settings(max_examples=300, deadline=None)
@given(st.lists(_written_numbers().map(lambda raw: _SEPARATORS.sub("", raw.strip())), max_size=20))
def test_normalizing_a_column_at_once_gives_what_one_at_a_time_gives(texts: list[str]) -> None:
    assert fast_normalize_all(texts) == [fast_normalize(text) for text in texts]
