"""Message catalogs for the pages: zh-CN (the default) and en, one JSON file per language.

A page asks for ``_("key")``; the browser's scripts get the same catalog in a JSON block. A key
missing from a catalog falls back to zh-CN, then to the key itself, so a missing translation shows
up plainly instead of breaking the page.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from aiohttp import web

LANGUAGES = ("zh-CN", "en")
DEFAULT = "zh-CN"
COOKIE = "hotline_lang"
_DIR = Path(__file__).parent


@cache
def catalog(language: str) -> dict[str, str]:
    path = _DIR / f"{language.replace('-', '_')}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def translate(language: str, key: str) -> str:
    return catalog(language).get(key) or catalog(DEFAULT).get(key) or key


def language_of(request: web.Request) -> str:
    wanted = request.cookies.get(COOKIE, "")
    return wanted if wanted in LANGUAGES else DEFAULT
