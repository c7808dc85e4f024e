"""Structured key=value logging on the standard library.

Log calls name the event and pass their fields in ``extra={"kv": {...}}``:
``log.info("ami_reconnect", extra={"kv": {"attempt": 3, "delay_s": 4.0}})`` renders
``event=ami_reconnect attempt=3 delay_s=4.0``. Values under keys that name secrets are masked,
and phone numbers are shortened, so an operator's log never carries a password or a caller's
full number at info level. Control characters (CR, LF, terminal escapes, line separators, bidi
overrides) are escaped wherever they come from, so text a user typed can neither forge a log
line nor drive the operator's terminal; a traceback is indented under the line it belongs to.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import Any

_SECRET_KEYS = re.compile(r"secret|password|passwd|token|session_key|cookie|authorization", re.I)
_PHONE_KEYS = re.compile(r"caller|phone|number|callerid|exten_remote", re.I)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NEEDS_QUOTES = re.compile(r'[\s="\\]')  # in a value: quoted; in a key: replaced by _


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """``text`` with every control character written as its escape (``\\n``, ``\\x1b``)."""
    return _CONTROL.sub(_escape, text)


def mask_phone(number: str) -> str:
    """138****1000 for 13800131000: enough for an operator to tell calls apart, not to dial."""
    digits = number.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    keep_head = min(3, len(digits) - 4)
    return digits[:keep_head] + "*" * (len(digits) - keep_head - 4) + digits[-4:]


def render_fields(fields: Mapping[str, Any]) -> str:
    parts = []
    for key, value in fields.items():
        if _SECRET_KEYS.search(key):
            text = "***"
        elif _PHONE_KEYS.search(key) and isinstance(value, str):
            text = mask_phone(value)
        else:
            text = str(value)
        if not text or _NEEDS_QUOTES.search(text) or _CONTROL.search(text):
            text = '"' + escape_controls(text.replace("\\", "\\\\").replace('"', '\\"')) + '"'
        parts.append(f"{_NEEDS_QUOTES.sub('_', escape_controls(str(key)))}={text}")
    return " ".join(parts)


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        message = record.getMessage()
        fields["event"] = message
        fields.update(getattr(record, "kv", {}) or {})
        text = render_fields(fields)
        if record.exc_info:
            trace = self.formatException(record.exc_info)
            text += "".join("\n  " + escape_controls(line) for line in trace.split("\n"))
        return text


def configure_logging(level: str = "INFO", stream: Any = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
