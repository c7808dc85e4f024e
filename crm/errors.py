"""Typed errors of the CRM, each carrying what a person needs to fix the problem."""

from __future__ import annotations

from dataclasses import dataclass


class CrmError(Exception):
    """Base of every CRM error; ``error_id`` is stable for API responses."""

    error_id = "crm_error"


class NotFound(CrmError):
    error_id = "not_found"

    def __init__(self, what: str, key: object) -> None:
        super().__init__(f"no {what} {key!r}")
        self.what = what
        self.key = key


class InvalidPhoneNumber(CrmError):
    error_id = "invalid_phone_number"

    def __init__(self, raw: str, reason: str) -> None:
        super().__init__(f"not a usable phone number {raw!r}: {reason}")
        self.raw = raw
        self.reason = reason


class DuplicatePhoneNumber(CrmError):
    error_id = "duplicate_phone_number"

    def __init__(self, e164: str, customer_id: int) -> None:
        super().__init__(f"phone number {e164} already belongs to customer {customer_id}")
        self.e164 = e164
        self.customer_id = customer_id


class InvalidTargetRule(CrmError):
    """A campaign's target rule that does not compile against the customer fields."""

    error_id = "invalid_target_rule"

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"target rule {text!r} is invalid: {reason}")
        self.text = text
        self.reason = reason


class TargetRuleFailed(CrmError):
    """A target rule that compiled but could not be evaluated for a customer (a division by zero,
    a pattern read from a field that RE2 refuses, a batch over its time budget)."""

    error_id = "target_rule_failed"

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"target rule {text!r} failed: {reason}")
        self.text = text
        self.reason = reason


class InvalidTransition(CrmError):
    error_id = "invalid_transition"

    def __init__(self, what: str, current: str, wanted: str) -> None:
        super().__init__(f"{what} cannot go from {current} to {wanted}")
        self.current = current
        self.wanted = wanted


class TicketNotClosable(CrmError):
    """Closing needs the customer's evaluation or a follow-up call with a satisfaction score."""

    error_id = "ticket_not_closable"


class InvalidAnswer(CrmError):
    error_id = "invalid_answer"


class ImportFailed(CrmError):
    """A file that was not imported; ``problems`` lists every bad row with its reason."""

    error_id = "import_failed"

    def __init__(self, path: str, problems: list[ImportProblem]) -> None:
        head = "; ".join(str(p) for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"{path}: nothing imported, {len(problems)} bad row(s): {head}{more}")
        self.path = path
        self.problems = problems


class UnreadableFile(CrmError):
    error_id = "unreadable_file"

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """One bad row: the row number as a spreadsheet shows it (header is row 1), the field, why."""

    row: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row} {self.field}: {self.reason}"
