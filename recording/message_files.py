"""Where a message a caller left is kept, and how its file is found again to be played.

One place records messages: the dialplan's leave-a-message context (after the IVR's message
node or the fallback), under Asterisk's monitor spool
(``<spool>/messages/YYYY/MM/DD/<Linkedid>/<Uniqueid>.wav``). A message's file is kept as the
place's name and the path inside it (``spool/messages/2026/…``), so the CRM never holds a path
of another machine and nothing outside the spool is ever read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from recording.errors import UnsafePath
from recording.storage.paths import ASTERISK_MONITOR_DIR, relative_path, safe_join

SPOOL = "spool"


@dataclass(frozen=True, slots=True)
class MessageFiles:
    spool_dir: Path  # the monitor spool, where Hotline reads it
    asterisk_monitor_dir: str = ASTERISK_MONITOR_DIR  # the spool as Asterisk names its files

    def stored_name(self, file: str) -> str:
        """The kept name of a file Asterisk wrote; UnsafePath when it is outside the spool."""
        return f"{SPOOL}/{relative_path(file, monitor_dir=self.asterisk_monitor_dir)}"

    def path_of(self, stored: str) -> Path:
        """The file to play; UnsafePath for a name no folder holds, FileNotFoundError when gone."""
        place, _, inside = stored.partition("/")
        root = {SPOOL: self.spool_dir}.get(place)
        if root is None or not inside:
            raise UnsafePath(f"{stored!r} names no message folder")
        path = safe_join(root, inside)
        if not path.is_file():
            raise FileNotFoundError(stored)
        return path
