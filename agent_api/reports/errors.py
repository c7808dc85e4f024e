"""Errors the report routes answer with."""

from __future__ import annotations

from agent_api.errors import ApiError


class InvalidDefinition(ApiError):
    status = 422
    error_id = "invalid_definition"


class InvalidSaved(ApiError):
    status = 422
    error_id = "invalid_saved_report"
