"""What the switch says it is doing right now, asked for after every (re)connect.

The AMI link gathers the list actions' items; the tracker reconciles its memory with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cti.ami_protocol import AmiMessage


@dataclass(frozen=True, slots=True)
class SwitchSnapshot:
    at: datetime
    channels: list[AmiMessage] = field(default_factory=list)  # CoreShowChannel items
    queue_status: list[AmiMessage] = field(default_factory=list)  # QueueParams / QueueMember / QueueEntry
    bridges: list[AmiMessage] = field(default_factory=list)  # BridgeListItem items
