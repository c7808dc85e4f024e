"""The AMI wire protocol as a pure state machine: bytes in, plain message mappings out.

No socket here. ``AmiParser.feed(data)`` takes whatever a read returned — a byte, half a
message, a thousand messages — and returns the complete messages in it. A message is a plain
``dict`` with Asterisk's header names as keys, in the order received; a header that repeats
(``ChanVariable``, ``Output``) becomes a list of its values. Bad input never raises: a line
that is not a header, or a block with neither ``Event`` nor ``Response``, is reported as a
``MalformedMessage`` with its byte offset in the stream and skipped, and parsing goes on with the
next message.

``format_action`` does the reverse for what we send, refusing values that would smuggle a line
break into the stream.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

AmiMessage = dict[str, "str | list[str]"]

BANNER_PREFIX = b"Asterisk Call Manager/"
MESSAGE_END = b"\r\n\r\n"
LINE_END = "\r\n"
# A message bigger than this is not something Asterisk sends; drop it rather than grow forever.
MAX_MESSAGE_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class EventFilter:
    """The events a consumer reads. Over half of a real stream is VarSet and Newexten noise;
    an event not named here (and not answering an action) is dropped before it is decoded.
    ``variables``, when given, keeps only the VarSet events that set one of them."""

    events: frozenset[str]
    variables: frozenset[str] | None = None

    def keeps(self, block: bytes) -> bool:
        end = block.find(b"\r\n")
        name = (block[7:] if end < 0 else block[7:end]).decode("ascii", "replace")
        if name not in self.events:
            return b"\r\nActionID: " in block
        if name == "VarSet" and self.variables is not None:
            start = block.find(b"\r\nVariable: ")
            if start < 0:
                return False
            start += 12
            end = block.find(b"\r\n", start)
            variable = (block[start:] if end < 0 else block[start:end]).decode("ascii", "replace")
            return variable in self.variables
        return True


@dataclass(frozen=True, slots=True)
class MalformedMessage:
    offset: int  # byte offset in the stream where the bad input starts
    reason: str
    raw: bytes


class AmiParser:
    """Splits an AMI byte stream into messages. One parser per connection."""

    def __init__(self, expect_banner: bool = True, wanted: EventFilter | None = None) -> None:
        self.banner: str | None = None
        self.wanted = wanted
        self.malformed: list[MalformedMessage] = []
        self._buffer = b""
        self._buffer_offset = 0  # stream offset of self._buffer[0]
        self._expect_banner = expect_banner

    @property
    def version(self) -> str:
        """``11.0.0`` from the banner ``Asterisk Call Manager/11.0.0``; empty before it."""
        return self.banner.partition("/")[2] if self.banner else ""

    def take_malformed(self) -> list[MalformedMessage]:
        malformed, self.malformed = self.malformed, []
        return malformed

    def feed(self, data: bytes) -> list[AmiMessage]:
        buffer = self._buffer + data if self._buffer else data
        if self._expect_banner:
            buffer = self._consume_banner(buffer)
            if self._expect_banner:
                self._buffer = buffer
                return []
        blocks = buffer.split(MESSAGE_END)
        rest = blocks.pop()
        offset = self._buffer_offset
        messages: list[AmiMessage] = []
        append = messages.append
        keeps = self.wanted.keeps if self.wanted is not None else None
        for block in blocks:
            if block and (keeps is None or not block.startswith(b"Event: ") or keeps(block)):
                message = self._parse_block(block, offset)
                if message is not None:
                    append(message)
            offset += len(block) + 4
        if len(rest) > MAX_MESSAGE_BYTES:
            self.malformed.append(MalformedMessage(offset, "message too large", rest[:200]))
            offset += len(rest)
            rest = b""
        self._buffer = rest
        self._buffer_offset = offset
        return messages

    def _consume_banner(self, buffer: bytes) -> bytes:
        if len(buffer) < len(BANNER_PREFIX) and BANNER_PREFIX.startswith(buffer):
            return buffer  # too early to tell
        self._expect_banner = False
        if not buffer.startswith(BANNER_PREFIX):
            return buffer
        end = buffer.find(b"\r\n")
        if end < 0:
            self._expect_banner = len(buffer) <= 512  # wait for the rest of the banner line
            return buffer
        self.banner = buffer[:end].decode("utf-8", "replace")
        self._buffer_offset += end + 2
        return buffer[end + 2 :]

    def _parse_block(self, block: bytes, offset: int) -> AmiMessage | None:
        text = block.decode("utf-8", "replace")
        if text.startswith(LINE_END):
            stripped = text.lstrip("\r\n")
            offset += len(text) - len(stripped)
            text = stripped
            if not text:
                return None
        message: AmiMessage = {}
        stray: list[str] = []
        for line in text.split(LINE_END):
            key, sep, value = line.partition(": ")
            if not sep:
                if line.endswith(":") and " " not in line:
                    key, value = line[:-1], ""
                else:
                    stray.append(line)
                    continue
            if key in message:
                previous = message[key]
                if isinstance(previous, list):
                    previous.append(value)
                else:
                    message[key] = [previous, value]
            else:
                message[key] = value
        if "Event" not in message and "Response" not in message:
            self.malformed.append(MalformedMessage(offset, "neither Event nor Response", block[:200]))
            return None
        if stray:
            if message.get("Response") == "Follows":
                # Older Asterisk answers Command with a raw body instead of Output: headers.
                output = message.get("Output", [])
                message["Output"] = [*([output] if isinstance(output, str) else output), *stray]
            else:
                for line in stray:
                    self.malformed.append(
                        MalformedMessage(offset, "not a header line", line.encode("utf-8", "replace")[:200])
                    )
        return message


class ActionFieldError(ValueError):
    """A value for an action header would break the AMI framing (CR or LF in it)."""


def format_action(action: str, action_id: str, fields: Mapping[str, object] | None = None) -> bytes:
    """The bytes for one action. A list value repeats its header (``Variable: a=1``, ``Variable: b=2``)."""
    lines = [f"Action: {action}", f"ActionID: {action_id}"]
    for key, value in (fields or {}).items():
        if value is None:
            continue
        values: Iterable[object] = value if isinstance(value, (list, tuple)) else (value,)
        for item in values:
            text = _header_text(item)
            if "\r" in text or "\n" in text or "\r" in key or "\n" in key or ":" in key:
                raise ActionFieldError(f"action {action}: header {key!r} has a line break or colon")
            lines.append(f"{key}: {text}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def _header_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def first(message: Mapping[str, str | list[str]], key: str, default: str = "") -> str:
    """The header's value, or its first value when it repeats."""
    value = message.get(key, default)
    return value[0] if isinstance(value, list) else value
