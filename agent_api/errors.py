"""Typed API errors: each carries the HTTP status, a stable error id and what a person needs."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    status = 400
    error_id = "bad_request"

    def __init__(
        self, message: str, *, details: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.headers = headers or {}  # sent with the error answer (e.g. Content-Range on a 416)


class BadRequest(ApiError):
    status = 400
    error_id = "bad_request"


class InvalidQuery(ApiError):
    status = 400
    error_id = "invalid_query"


class InvalidBody(ApiError):
    status = 422
    error_id = "invalid_body"


class UnknownDisposition(ApiError):
    status = 400
    error_id = "unknown_disposition"


class BodyTooDeep(ApiError):
    status = 400
    error_id = "body_too_deep"


class BodyTooLarge(ApiError):
    status = 413
    error_id = "body_too_large"


class NotAuthenticated(ApiError):
    status = 401
    error_id = "not_authenticated"


class Forbidden(ApiError):
    status = 403
    error_id = "forbidden"


class CsrfFailed(ApiError):
    status = 403
    error_id = "csrf_failed"


class NotFoundError(ApiError):
    status = 404
    error_id = "not_found"


class Conflict(ApiError):
    status = 409
    error_id = "conflict"


class TooManyAttempts(ApiError):
    status = 429
    error_id = "too_many_attempts"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message, details={"retry_after_s": retry_after_s})
        self.retry_after_s = retry_after_s


class SwitchUnavailable(ApiError):
    status = 502
    error_id = "switch_error"


class NotSupported(ApiError):
    status = 501
    error_id = "not_supported"
