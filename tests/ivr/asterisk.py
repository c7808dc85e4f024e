"""Asterisk's side of a FastAGI connection, for tests: a real client on a real socket.

``AsteriskScript`` answers each command the way Asterisk 22 does (the reply lines come from
tests/transcripts/*/*.agi where a transcript is used) and remembers what Hotline asked for.
"""

from __future__ import annotations

import asyncio
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

_TIMED = re.compile(r"^\s*\d+\.\d+ (.*)$")
DEAD = "511 Command Not Permitted on a dead channel or intercepted channel"
_SHAPES = {
    "STREAM FILE": re.compile(r"^200 result=-?\d+ endpos=\d+$"),
    "GET DATA": re.compile(r"^200 result=[0-9*#]*( \(timeout\))?$"),
}


def transcript_lines(path: Path) -> list[str]:
    """The lines of a .agi capture without their timestamps."""
    found = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        match = _TIMED.match(raw)
        if match:
            found.append(match.group(1))
    return found


def environment_blocks(path: Path) -> list[list[str]]:
    """The environment lines of each connection in a transcript, without the empty line."""
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for body in transcript_lines(path):
        if body == "-- connection from Asterisk":
            current = []
            blocks.append(current)
        elif current is not None and body.startswith("<< "):
            line = body[3:]
            if line == "" or line.strip() == "":
                current = None
            else:
                current.append(line)
        elif current is not None and body == "<<":
            current = None
    return blocks


def transcript_replies(path: Path) -> dict[str, list[str]]:
    """For each command verb, the reply lines Asterisk sent to it in the transcript.

    Two calls may interleave in one file (15-resync-waiting), so a command's reply is the first
    later line that has that command's shape.
    """
    lines = transcript_lines(path)
    replies: dict[str, list[str]] = {}
    for index, line in enumerate(lines):
        if not line.startswith(">> "):
            continue
        verb = " ".join(line[3:].split()[:2])
        shape = _SHAPES.get(verb)
        if shape is None or verb in replies:
            continue
        for later_index in range(index + 1, len(lines)):
            later = lines[later_index]
            if later.startswith("<< ") and shape.match(later[3:]):
                answer = [later[3:]]
                following = lines[later_index + 1] if later_index + 1 < len(lines) else ""
                if following == "<< HANGUP":
                    answer.append("HANGUP")
                replies[verb] = answer
                break
    return replies


@dataclass
class AsteriskScript:
    environment: list[str]
    digits: list[str] = field(default_factory=list)  # answers to GET DATA, in order; "" = timeout
    variables: dict[str, str] = field(default_factory=dict)
    stream_reply: list[str] = field(default_factory=lambda: ["200 result=0 endpos=8000"])
    stream_digits: dict[str, str] = field(default_factory=dict)  # prompt substring → DTMF pressed
    stall_on: str | None = None  # a verb that never gets a reply
    garbage_on: str | None = None  # a verb answered with a line that is not AGI
    hangup_on: str | None = None  # a prompt substring: the caller hangs up while it plays
    hung_up: bool = False
    commands: list[str] = field(default_factory=list)
    set_variables: dict[str, str] = field(default_factory=dict)
    stalled: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def from_transcript(cls, path: Path, connection: int = 0, **kwargs: object) -> AsteriskScript:
        environment = environment_blocks(path)[connection]
        replies = transcript_replies(path)
        uniqueid = next(line.split(": ", 1)[1] for line in environment if line.startswith("agi_uniqueid"))
        caller = next(line.split(": ", 1)[1] for line in environment if line.startswith("agi_callerid"))
        script = cls(
            environment=environment,
            variables={"CHANNEL(linkedid)": uniqueid, "CALLERID(num)": caller},
            **kwargs,  # type: ignore[arg-type]
        )
        if "STREAM FILE" in replies:
            script.stream_reply = replies["STREAM FILE"]
        if "GET DATA" in replies and not script.digits:
            script.digits = [replies["GET DATA"][0].split("=", 1)[1].split(" ")[0]]
        return script

    def answer(self, command: str) -> list[str] | None:
        self.commands.append(command)
        words = shlex.split(command)
        verb = " ".join(words[:2]).upper()
        if self.hung_up:
            return [DEAD]
        if verb == self.stall_on:
            self.stalled.set()
            return None
        if verb == self.garbage_on:
            return ["\x00\xffgarbage"]
        if verb == "STREAM FILE":
            if self.hangup_on and self.hangup_on in words[2]:
                self.hung_up = True
                return ["200 result=-1 endpos=4160", "HANGUP"]
            if self.stream_reply[-1] == "HANGUP":
                self.hung_up = True
                return list(self.stream_reply)
            for fragment, digit in self.stream_digits.items():
                if fragment in words[2]:
                    return [f"200 result={ord(digit)} endpos=2000"]
            return list(self.stream_reply)
        if verb == "GET DATA":
            pressed = self.digits.pop(0) if self.digits else ""
            return [f"200 result={pressed}" if pressed else "200 result= (timeout)"]
        if verb == "SET VARIABLE":
            self.set_variables[words[2]] = words[3]
            return ["200 result=1"]
        if verb == "GET VARIABLE":
            value = self.variables.get(words[2])
            return ["200 result=0"] if value is None else [f"200 result=1 ({value})"]
        if verb in ("SAY DIGITS", "SAY NUMBER"):
            return ["200 result=0"]
        if verb == "HANGUP":
            self.hung_up = True
            return ["200 result=1", "HANGUP"]
        if verb == "VERBOSE":
            return ["200 result=1"]
        return ["510 Invalid or unknown command"]

    async def call(self, port: int, *, timeout_s: float = 5.0) -> list[str]:
        """Connect, send the environment, answer until Hotline closes; the commands it sent."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            async with asyncio.timeout(timeout_s):
                writer.write(("\n".join(self.environment) + "\n\n").encode())
                await writer.drain()
                while line := await reader.readline():
                    replies = self.answer(line.decode().rstrip("\n"))
                    if replies:
                        writer.write("".join(f"{reply}\n" for reply in replies).encode("latin-1"))
                        await writer.drain()
        finally:
            writer.close()
        return self.commands


def environment(
    *, uniqueid: str = "1795416380.155", caller: str = "13800131000", dialed: str = "4008123456"
) -> list[str]:
    return [
        "agi_network: yes",
        "agi_network_script: ivr",
        "agi_request: agi://127.0.0.1:4573/ivr",
        "agi_channel: PJSIP/trunk-0000009a",
        "agi_language: en",
        "agi_type: PJSIP",
        f"agi_uniqueid: {uniqueid}",
        "agi_version: 22.10.1",
        f"agi_callerid: {caller}",
        "agi_calleridname: Caller 1",
        f"agi_dnid: {dialed}",
        "agi_context: from-trunk",
        f"agi_extension: {dialed}",
        "agi_priority: 4",
        "agi_accountcode: ",
    ]
