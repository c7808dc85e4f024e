"""Error messages in the page's language: the API's English message read back against the
catalog's ``api.*`` templates, and said again in the language of the page that asked.

The code raises errors in English (the API's own language, for scripts and logs); the English
catalog holds each message's template (``{name}`` where the code puts a value), the other
catalogs the same message with the same names. A page says which language it reads with the
``X-Hotline-Lang`` header; a message no template matches is replaced by its kind's sentence
(``error.kind.<error_id>``), so a Chinese page never shows an English one.
"""

from __future__ import annotations

import json
import re
from functools import cache

from aiohttp import web

from agent_api.i18n import DEFAULT, LANGUAGES, catalog

LANG_HEADER = "X-Hotline-Lang"
TEMPLATE_PREFIX = "api."
_FIELD = re.compile(r"\{(\w+)\}")
# A value a message carries may itself be a code with a word of its own (a state, a reason).
VALUE_PREFIXES = ("state.", "reason.", "acd.action.", "disposition.")


@cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    """(the English template as a pattern, its key), the most specific first."""
    out = []
    for key, text in catalog("en").items():
        if not key.startswith(TEMPLATE_PREFIX):
            continue
        pattern = ""
        last = 0
        seen: set[str] = set()
        for match in _FIELD.finditer(text):
            pattern += re.escape(text[last : match.start()])
            name = match.group(1)
            pattern += f"(?P={name})" if name in seen else f"(?P<{name}>.+?)"
            seen.add(name)
            last = match.end()
        pattern += re.escape(text[last:])
        literal = len(_FIELD.sub("", text))
        out.append((literal, re.compile(pattern, re.DOTALL), key))
    out.sort(key=lambda item: -item[0])
    return [(pattern, key) for _, pattern, key in out]


def template_of(message: str) -> tuple[str, dict[str, str]] | None:
    """The catalog key of an English message and the values it carries; None if none fits."""
    for pattern, key in _templates():
        match = pattern.fullmatch(message)
        if match is not None:
            return key, match.groupdict()
    return None


def localized(language: str, message: str, error_id: str) -> str:
    """``message`` as the page of ``language`` should read it."""
    if language == "en" or language not in LANGUAGES:
        return message
    words = catalog(language)
    found = template_of(message)
    if found is None:
        return words.get(f"error.kind.{error_id}") or words.get("error.generic") or message
    key, values = found
    text = words.get(key) or catalog(DEFAULT).get(key, message)
    return _FIELD.sub(lambda m: _value(words, values.get(m.group(1), "")), text)


def _value(words: dict[str, str], value: str) -> str:
    bare = value.strip("'\"")
    for prefix in VALUE_PREFIXES:
        word = words.get(prefix + bare)
        if word:
            return word
    return value


@web.middleware
async def localized_errors_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
    """An error answer's message in the language the page asked for (``X-Hotline-Lang``)."""
    try:
        response = await handler(request)
    except web.HTTPException:
        raise
    language = request.headers.get(LANG_HEADER, "")
    if (
        not language
        or language == "en"
        or response.status < 400
        or not isinstance(response, web.Response)
        or response.content_type != "application/json"
        or response.body is None
    ):
        return response
    try:
        data = json.loads(response.body)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return response
    if not isinstance(data, dict) or not isinstance(data.get("message"), str):
        return response
    data["message"] = localized(language, data["message"], str(data.get("error", "")))
    response.body = json.dumps(data, ensure_ascii=False).encode()
    return response
