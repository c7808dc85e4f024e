from __future__ import annotations

import pytest

from crm.errors import InvalidTargetRule
from crm.targeting import TargetRule, validate_target_rule

FIELDS = {
    "name": "王芳",
    "segment": "gold",
    "vip_level": 3.0,
    "tags": ("broadband", "pets"),
    "language": "zh-CN",
    "owner_agent": "",
    "consent_marketing": True,
    "consent_sms": True,
    "consent_email": False,
    "has_email": False,
    "has_open_complaint": False,
    "open_tickets": 0.0,
    "contacts_30d": 2.0,
    "marketing_contacts_30d": 0.0,
    "days_since_last_contact": 12.0,
    "customer_days": 400.0,
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('segment == "gold" and vip_level >= 2', True),
        ('"pets" in tags and not has_open_complaint', True),
        ("contacts_30d < 2", False),
        ("days_since_last_contact > 7 and customer_days > 365", True),
        ("", True),
    ],
)
def test_target_rules_match_customer_fields_and_history(text: str, expected: bool) -> None:
    assert TargetRule(text).matches(FIELDS) is expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('segmnt == "gold"', "unknown field 'segmnt'"),
        ('vip_level > "high"', "is invalid"),
        ("segment ==", "is invalid"),
    ],
)
def test_a_rule_with_a_misspelt_field_a_type_error_or_bad_syntax_is_refused_on_save(
    text: str, reason: str
) -> None:
    with pytest.raises(InvalidTargetRule, match=reason):
        validate_target_rule(text)
