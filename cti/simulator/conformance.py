"""Compare two AMI streams the way a consumer sees them: the simulator's against a capture.

Real Asterisk writes from many threads, so the order *between* channels (and between a channel
and a device or queue member) changes from run to run — compare 01-inbound-answered's end of
call with 11-hold's. What never changes is each thread of the story on its own: one channel's
events, one device's states, one queue member's updates, one action's responses. So each message
is filed under its thread (``thread_key``) and every thread is compared in order: the same event
names, the same header names in the same order, the same values once ids, times and
history-dependent counters are normalized (``normalize``). Per call (Linkedid), the milestones a
tracker relies on (``MILESTONES``) must also come in the same order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from cti.ami_protocol import AmiMessage, AmiParser

# Not simulated (docs/simulator.md): RTCP reports and the RTP quality variables set at hangup.
IGNORED_EVENTS = frozenset({"RTCPSent", "RTCPReceived"})
IGNORED_VARIABLES = re.compile(r"^RTPAUDIOQOS")

MILESTONES = frozenset(
    {
        "Newchannel",
        "QueueCallerJoin",
        "AgentCalled",
        "DialBegin",
        "DialEnd",
        "AgentConnect",
        "BridgeEnter",
        "AgentComplete",
        "QueueCallerAbandon",
        "QueueCallerLeave",
        "Hold",
        "Unhold",
    }
)
# Headers whose value depends on which Asterisk thread ran first: DialState copies the dialled
# channel's snapshot, taken before or after that channel's own Newstate (01 vs 11).
RACY_HEADERS = frozenset({("DialState", "DestChannelState"), ("DialState", "DestChannelStateDesc")})

# Values that are times, ids of a run, or counters carried over from the captured server's past.
VOLATILE_HEADERS = frozenset(
    {
        "Timestamp",
        "EventTV",
        "SessionTV",
        "SessionID",
        "LocalAddress",
        "RemoteAddress",
        "CommandId",
        "Uptime",
        "LastReload",
        "LoginTime",
        "LastCall",
        "LastPause",
        "HoldTime",
        "Holdtime",
        "TalkTime",
        "RingTime",
        "Wait",
        "Duration",
        "Seconds",
        "Completed",
        "Abandoned",
        "LongestHoldTime",
        "CoreStartupDate",
        "CoreStartupTime",
        "CoreReloadDate",
        "CoreReloadTime",
        "CoreProcessedCalls",
        "Output",
        "Ping",
        "RoundtripUsec",
    }
)
VOLATILE_VARIABLES = frozenset(
    {
        "BRIDGEPVTCALLID",
        "QUEUEHOLDTIME",
        "QUEUETALKTIME",
        "QUEUECOMPLETED",
        "QUEUEABANDONED",
        "QEHOLDTIME",
        "QUEUEWAIT",
        "QUEUEWAIT_MS",
        "ANSWEREDTIME",
        "ANSWEREDTIME_MS",
        "DIALEDTIME",
        "DIALEDTIME_MS",
        "RINGTIME",
        "RINGTIME_MS",
        "MEMBERLASTCALL",
        "MEMBERCALLS",
    }
)
_UNIQUEID = re.compile(r"\b\d{9,10}\.\d+\b")
_CHANNEL_SUFFIX = re.compile(r"(PJSIP/[\w.@]+)-([0-9a-f]{8})\b")
_ADDRESS = re.compile(r"(agi://|IPV4/TCP/)[\w.]+[:/]\d+")
# The captures' rigs: 127.0.0.1 (01-15), the compose addresses (16, 17), their loopback twins (19).
_IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b")
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")


def parse_stream(data: bytes) -> list[AmiMessage]:
    """The messages of a raw AMI capture (banner first, as ``NN.ami`` files are)."""
    return AmiParser().feed(data)


@dataclass(slots=True)
class Normalizer:
    """Replaces each id by its order of first appearance, so two runs line up."""

    ids: dict[str, str] = field(default_factory=dict)

    def prime(self, messages: Iterable[AmiMessage]) -> None:
        """Number uniqueids and channel suffixes in creation order (their own sequence numbers),
        so that a list answered in container order does not renumber them."""
        uniqueids: set[str] = set()
        suffixes: set[str] = set()
        for message in messages:
            for value in message.values():
                for text in value if isinstance(value, list) else (value,):
                    uniqueids.update(_UNIQUEID.findall(text))
                    suffixes.update(m.group(2) for m in _CHANNEL_SUFFIX.finditer(text))
        for uniqueid in sorted(uniqueids, key=lambda u: int(u.partition(".")[2])):
            self.token("uid", uniqueid)
        for suffix in sorted(suffixes, key=lambda s: int(s, 16)):
            self.token("chan", suffix)

    def token(self, kind: str, value: str) -> str:
        key = f"{kind}:{value}"
        if key not in self.ids:
            self.ids[key] = f"<{kind}{sum(1 for k in self.ids if k.startswith(kind + ':')) + 1}>"
        return self.ids[key]

    def text(self, value: str) -> str:
        value = _UNIQUEID.sub(lambda m: self.token("uid", m.group(0)), value)
        value = _CHANNEL_SUFFIX.sub(lambda m: f"{m.group(1)}-{self.token('chan', m.group(2))}", value)
        value = _ADDRESS.sub(lambda m: f"{m.group(1)}<address>", value)
        value = _IPV4.sub("<address>", value)
        return _UUID.sub(lambda m: self.token("uuid", m.group(0)), value)


def normalize(message: AmiMessage, normalizer: Normalizer) -> list[tuple[str, str]]:
    variable = str(message.get("Variable", ""))
    event = str(message.get("Event", ""))
    out: list[tuple[str, str]] = []
    for key, value in message.items():
        text = value if isinstance(value, str) else "\n".join(value)
        if (event, key) in RACY_HEADERS:
            text = "<racy>"
        elif key in VOLATILE_HEADERS or (key == "Value" and variable in VOLATILE_VARIABLES):
            text = (
                "<num>" if text.strip().lstrip("-").replace(".", "", 1).isdigit() else ("<t>" if text else "")
            )
        else:
            text = normalizer.text(text)
        out.append((key, text))
    return out


def relevant(message: AmiMessage) -> bool:
    event = message.get("Event")
    if event in IGNORED_EVENTS:
        return False
    return not (event == "VarSet" and IGNORED_VARIABLES.match(str(message.get("Variable", ""))))


def thread_key(message: AmiMessage, normalizer: Normalizer) -> str:
    """Which ordered story a message belongs to (see the module docstring)."""
    if "Response" in message and "Event" not in message:
        return f"action {message.get('ActionID', '')}"
    if "ActionID" in message:
        return f"action {message.get('ActionID', '')}"
    event = str(message.get("Event", ""))
    if "Uniqueid" in message and message.get("Uniqueid") not in ("", "none"):
        return f"channel {normalizer.text(str(message['Uniqueid']))}"
    if event == "DeviceStateChange":
        return f"device {message.get('Device', '')}"
    if event.startswith("QueueMember"):
        return f"member {message.get('Queue', '')} {message.get('Interface', '')}"
    if "BridgeUniqueid" in message:
        return f"bridge {normalizer.text(str(message['BridgeUniqueid']))}"
    return "switch"


def threads(messages: Iterable[AmiMessage]) -> dict[str, list[list[tuple[str, str]]]]:
    messages = list(messages)
    normalizer = Normalizer()
    normalizer.prime(messages)
    result: dict[str, list[list[tuple[str, str]]]] = {}
    for message in messages:
        if not relevant(message):
            continue
        key = thread_key(message, normalizer)
        result.setdefault(key, []).append(normalize(message, normalizer))
    for key, thread in result.items():
        if key.startswith("action "):
            result[key] = _sorted_list_items(thread)
    return result


def _sorted_list_items(thread: list[list[tuple[str, str]]]) -> list[list[tuple[str, str]]]:
    """A list action's items come in the order of Asterisk's containers (hash order for devices
    and channels): compare them as a sorted list."""
    if len(thread) < 3 or dict(thread[0]).get("EventList") != "start":
        return thread
    end = next((i for i, m in enumerate(thread) if dict(m).get("EventList") == "Complete"), len(thread))
    return [thread[0], *sorted(thread[1:end]), *thread[end:]]


def milestones(messages: Iterable[AmiMessage]) -> dict[str, list[str]]:
    messages = list(messages)
    normalizer = Normalizer()
    normalizer.prime(messages)
    calls: dict[str, list[str]] = {}
    for message in messages:
        event = str(message.get("Event", ""))
        if event in MILESTONES and "Linkedid" in message:
            channel = normalizer.text(str(message.get("Channel", "")))
            calls.setdefault(normalizer.text(str(message["Linkedid"])), []).append(f"{event} {channel}")
    return calls


def _label(message: list[tuple[str, str]]) -> str:
    head = dict(message)
    name = head.get("Event") or f"Response: {head.get('Response', '')}"
    if name == "VarSet":
        return f"VarSet {head.get('Variable', '')}={head.get('Value', '')}"
    return name


def compare_streams(
    expected: Iterable[AmiMessage],
    actual: Iterable[AmiMessage],
    *,
    skip: Callable[[AmiMessage], bool] | None = None,
    movable: frozenset[str] = frozenset(),
) -> list[str]:
    """Every difference, as readable lines; an empty list means the streams conform.

    ``movable`` names events whose place in their thread a test accepts as varying (each use is
    listed in docs/simulator.md with the captures that disagree); they still must be there, once,
    with the same headers and values.
    """
    expected = [m for m in expected if not (skip and skip(m))]
    actual = [m for m in actual if not (skip and skip(m))]
    problems: list[str] = []
    want, got = threads(expected), threads(actual)
    if movable:
        want, got = _move_to_end(want, movable), _move_to_end(got, movable)
    for key in sorted(set(want) | set(got)):
        problems += _compare_thread(key, want.get(key, []), got.get(key, []))
    want_calls, got_calls = milestones(expected), milestones(actual)
    for call in sorted(set(want_calls) | set(got_calls)):
        if want_calls.get(call) != got_calls.get(call):
            problems.append(
                f"call {call}: milestones differ\n"
                f"  expected: {want_calls.get(call)}\n  actual:   {got_calls.get(call)}"
            )
    return problems


def _move_to_end(
    threads_by_key: dict[str, list[list[tuple[str, str]]]], movable: frozenset[str]
) -> dict[str, list[list[tuple[str, str]]]]:
    moved = {}
    for key, thread in threads_by_key.items():
        fixed = [m for m in thread if dict(m).get("Event") not in movable]
        loose = [m for m in thread if dict(m).get("Event") in movable]
        moved[key] = fixed + loose
    return moved


def _compare_thread(
    key: str, want: list[list[tuple[str, str]]], got: list[list[tuple[str, str]]]
) -> list[str]:
    names_want, names_got = [_label(m) for m in want], [_label(m) for m in got]
    if names_want != names_got:
        import difflib

        diff = "\n".join(
            "    " + line
            for line in difflib.unified_diff(names_want, names_got, "expected", "actual", lineterm="", n=2)
        )
        return [f"{key}: event sequence differs\n{diff}"]
    problems = []
    for index, (w, g) in enumerate(zip(want, got, strict=True)):
        if [k for k, _ in w] != [k for k, _ in g]:
            problems.append(
                f"{key} #{index} {_label(w)}: headers differ\n"
                f"  expected: {[k for k, _ in w]}\n  actual:   {[k for k, _ in g]}"
            )
            continue
        for (k, vw), (_, vg) in zip(w, g, strict=True):
            if vw != vg:
                problems.append(f"{key} #{index} {_label(w)}: {k} expected {vw!r}, got {vg!r}")
    return problems


def format_report(problems: list[str], limit: int = 40) -> str:
    shown = problems[:limit]
    more = f"\n… and {len(problems) - limit} more" if len(problems) > limit else ""
    return "\n".join(shown) + more


def event_names(messages: Iterable[Mapping[str, object]]) -> list[str]:
    return [str(m.get("Event") or m.get("Response")) for m in messages]
