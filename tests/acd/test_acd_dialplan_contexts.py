"""The contexts the ACD Redirects callers to exist in asterisk-config/extensions.conf, with an
extension that matches what the ACD sends (an agent's extension, a queue's name)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from acd.models import AcdConfig
from acd.queue_file import load_queue_file

EXTENSIONS_CONF = Path(__file__).parents[2] / "asterisk-config" / "extensions.conf"


def _extensions() -> dict[str, list[str]]:
    """Context → the extension names or patterns it defines."""
    contexts: dict[str, list[str]] = {}
    current = ""
    for raw in EXTENSIONS_CONF.read_text().splitlines():
        line = raw.split(";", 1)[0].strip()
        if line.startswith("[") and "]" in line:
            current = line[1 : line.index("]")]
            contexts.setdefault(current, [])
        elif line.startswith("exten =>"):
            contexts[current].append(line[len("exten =>") :].strip().split(",", 1)[0])
    return contexts


def _matches(pattern: str, exten: str) -> bool:
    """Asterisk's extension matching: a name, or a _pattern of X Z N [..] . !"""
    if not pattern.startswith("_"):
        return pattern == exten
    classes = {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "!": ".*"}
    regex = "".join(
        classes.get(part, part if part.startswith("[") else re.escape(part))
        for part in re.findall(r"\[[^\]]*\]|.", pattern[1:])
    )
    return re.fullmatch(regex, exten) is not None


def _served(context: str, exten: str) -> bool:
    return any(_matches(pattern, exten) for pattern in _extensions().get(context, []))


def test_the_pattern_matcher_follows_asterisk() -> None:
    assert _matches("_[a-z].", "support") and not _matches("_[a-z].", "s")
    assert _matches("_10XX", "1001") and not _matches("_10XX", "2001")
    assert _matches("_X.", "1001") and not _matches("_X.", "vip")


@pytest.mark.parametrize("queue", sorted(load_queue_file()))
def test_max_wait_redirects_of_every_shipped_queue_land_on_an_extension(queue: str) -> None:
    config = AcdConfig.__dataclass_fields__
    for field in ("callback_context", "message_context"):
        assert _served(config[field].default, queue), (field, queue)


def test_delivery_to_an_agent_extension_lands_on_an_extension() -> None:
    assert _served(AcdConfig.__dataclass_fields__["deliver_context"].default, "1001")
