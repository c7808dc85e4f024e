"""Channels and bridges as Asterisk names and numbers them."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field


@dataclass(eq=False, slots=True)
class Channel:
    name: str
    uniqueid: str
    linkedid: str
    context: str
    exten: str
    priority: int = 1
    state: int = 0
    caller_num: str = ""
    caller_name: str = ""
    connected_num: str = ""
    connected_name: str = ""
    language: str = "en"
    account_code: str = ""
    created: float = 0.0
    application: str = ""
    application_data: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    bridge: Bridge | None = None
    has_media: bool = True
    recording: bool = False
    muted: bool = False
    dtmf_sent: str = ""  # digits played to this channel's party (PlayDTMF)
    audio_muted: frozenset[str] = frozenset()  # MuteAudio's directions in force: "in", "out"
    hung_up: bool = False
    sip_call_id: str = ""  # what BRIDGEPVTCALLID shows
    on_hold: bool = False
    # (context, exten, priority) of the last Newexten: Asterisk writes one only when it changes.
    published: tuple[str, str, int] | None = None

    device: str = ""  # PJSIP/1001 for PJSIP/1001-0000009b: where device state is kept

    def __post_init__(self) -> None:
        if not self.device:
            self.device = self.name.rpartition("-")[0]

    @property
    def peer_name(self) -> str:
        return self.device.partition("/")[2]


@dataclass(slots=True)
class Bridge:
    uniqueid: str
    kind: str = "basic"
    technology: str = "simple_bridge"
    creator: str = "<unknown>"
    name: str = "<unknown>"
    channels: list[Channel] = field(default_factory=list)
    created: float = 0.0


class Numbering:
    """Uniqueids (``epoch.sequence``, or ``systemname-epoch.sequence`` as Asterisk makes them
    when asterisk.conf names the system), channel name suffixes (8 hex digits) and bridge ids.

    Seeded so that a test run writes the same ids every time.
    """

    def __init__(
        self, seed: int = 0, first_uniqueid: int = 0, first_channel: int = 0, system_name: str = ""
    ) -> None:
        self._prefix = f"{system_name}-" if system_name else ""
        self._random = random.Random(seed)
        self._uniqueid = first_uniqueid
        self._channel = first_channel

    def uniqueid(self, now: float) -> str:
        value = f"{self._prefix}{int(now)}.{self._uniqueid}"
        self._uniqueid += 1
        return value

    def channel_name(self, device: str) -> str:
        name = f"{device}-{self._channel:08x}"
        self._channel += 1
        return name

    def uuid(self) -> str:
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def command_id(self) -> str:
        return str(self._random.randrange(100_000_000, 2_147_483_647))

    def session_id(self) -> str:
        return f"0x7f{self._random.getrandbits(40):010x}"
