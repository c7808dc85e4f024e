"""CRM errors as API errors, keeping the CRM's stable ``error_id`` (the pages translate it)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from agent_api.errors import ApiError, Conflict, InvalidBody, NotFoundError
from crm.customer_records import CustomerErased, SameCustomer
from crm.errors import (
    CrmError,
    DuplicatePhoneNumber,
    InvalidPhoneNumber,
    InvalidTransition,
    NotFound,
    TicketNotClosable,
)
from crm.teams import InvalidTeam, TeamExists

_AS = {
    NotFound: NotFoundError,
    DuplicatePhoneNumber: Conflict,
    CustomerErased: Conflict,
    InvalidTransition: Conflict,
    TicketNotClosable: Conflict,
    TeamExists: Conflict,
    InvalidPhoneNumber: InvalidBody,
    InvalidTeam: InvalidBody,
    SameCustomer: InvalidBody,
}


def as_api_error(exc: CrmError) -> ApiError:
    kind = next((api for crm, api in _AS.items() if isinstance(exc, crm)), InvalidBody)
    error = kind(str(exc))
    error.error_id = exc.error_id  # the instance's id: the CRM's, more precise than the status's
    return error


@contextlib.contextmanager
def crm_errors() -> Iterator[None]:
    """Inside: a CRM error, or a value the CRM refused (ValueError), is the API's 4xx."""
    try:
        yield
    except CrmError as exc:
        raise as_api_error(exc) from None
    except ValueError as exc:
        raise InvalidBody(str(exc)) from None
