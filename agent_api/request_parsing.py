"""The one place a request's JSON body and query string become an endpoint's models.

A body is read within a size budget (:data:`MAX_BODY_BYTES`, 413 past it), decoded within a
depth budget (:data:`MAX_DEPTH` levels of arrays and objects, 400 past it), refused if its text
is not Unicode a database can store (422), then validated by the endpoint's pydantic model (422
with the field errors). A query string is validated by its
model with the center's time zone at hand, which the query-string times need
(agent_api/query_time.py); a bad query parameter is a 400. docs/input-validation.md says why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import tzinfo
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from agent_api.errors import BodyTooDeep, BodyTooLarge, InvalidBody, InvalidQuery
from agent_api.query_time import TZ_CONTEXT

MAX_BODY_BYTES = 64 * 1024
MAX_DEPTH = 32  # a report definition, the deepest body we take, is 5 levels deep
CENTER_TZ: web.AppKey[tzinfo] = web.AppKey("center_tz", tzinfo)  # set by build_app from settings

_SURROGATE = re.compile("[\ud800-\udfff]")

Model = TypeVar("Model", bound=BaseModel)


def field_errors(exc: ValidationError) -> dict[str, Any]:
    """A validation error's details for people: where each problem is and what it is."""
    return {
        "fields": [
            {"loc": [str(part) for part in error["loc"]], "msg": error["msg"]} for error in exc.errors()
        ]
    }


def _too_deep() -> BodyTooDeep:
    return BodyTooDeep(
        f"the body nests arrays and objects more than {MAX_DEPTH} levels deep",
        details={"max_depth": MAX_DEPTH},
    )


def _too_large() -> BodyTooLarge:
    return BodyTooLarge(
        f"the body is larger than {MAX_BODY_BYTES} bytes", details={"max_bytes": MAX_BODY_BYTES}
    )


def _unicode(text: str) -> bool:
    """Whether ``text`` is Unicode the database can store: JSON's ``\\ud800`` escapes can spell
    lone surrogates, which no UTF-8 encoder takes."""
    return text.isascii() or _SURROGATE.search(text) is None


def _shape_problem(value: Any) -> str | None:
    """What is wrong with a decoded body: ``depth`` past :data:`MAX_DEPTH` levels of lists and
    dicts, ``text`` with a lone surrogate, or None. No recursion, so a hostile value cannot
    exhaust the stack here either."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if not _unicode(item):
                return "text"
            continue
        if isinstance(item, dict):
            children = [*item.keys(), *item.values()]
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth + 1 > MAX_DEPTH:
            return "depth"
        pending.extend((child, depth + 1) for child in children)
    return None


def decode_json(raw: bytes) -> Any:
    """The JSON value of ``raw`` within the depth budget; an empty body is ``null``."""
    try:
        data = json.loads(raw or b"null")
    except RecursionError:  # the decoder's own guard, met well past our budget
        raise _too_deep() from None
    except ValueError as exc:  # UnicodeDecodeError and over-long integers included
        raise InvalidBody(f"the body is not valid JSON: {exc}") from None
    problem = _shape_problem(data)
    if problem == "depth":
        raise _too_deep()
    if problem == "text":
        raise InvalidBody("the body's text has an unpaired surrogate escape (\\ud800–\\udfff)")
    return data


async def read_json(request: web.Request) -> Any:
    """The request's JSON body, read and decoded within the budgets."""
    if request.content_type != "application/json":
        raise InvalidBody("the body must be JSON (Content-Type: application/json)")
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise _too_large()
    raw = bytearray()
    while chunk := await request.content.read(MAX_BODY_BYTES + 1 - len(raw)):
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise _too_large()
    return decode_json(bytes(raw))


async def parse_body(request: web.Request, model: type[Model]) -> Model:
    data = await read_json(request)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidBody("the body does not match the schema", details=field_errors(exc)) from None


def parse_query(query: Mapping[str, str], model: type[Model], tz: tzinfo) -> Model:
    """The query parameters as ``model``; times without an offset are read in ``tz``."""
    try:
        return model.model_validate(dict(query), context={TZ_CONTEXT: tz})
    except ValidationError as exc:
        raise InvalidQuery("bad query parameters", details=field_errors(exc)) from None
