"""What MixMonitor leaves in the monitor spool, for a Hotline that runs on the simulator.

With a ``directory``, every recording the simulator starts is written when it stops (StopMixMonitor
or hang-up) as an 8 kHz mono 16-bit WAV at the path MixMonitor was given, relative to that
directory: the main file and, with ``r()``/``t()``, the two legs. It lasts the recorded time —
with option ``b`` only the time the channel spent bridged, as Asterisk writes nothing before — and
holds a quiet tone. Without a directory nothing is written.
"""

from __future__ import annotations

import array
import asyncio
import logging
import math
import re
import wave
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cti.simulator.channels import Channel
    from cti.simulator.core import SwitchSimulator

log = logging.getLogger(__name__)

SPOOL = "/var/spool/asterisk/monitor"
RATE = 8000
TONE_HZ = 400
TONE_AMPLITUDE = 600  # about -35 dBFS: heard as a faint hum, not as speech
_LEG = re.compile(r"([rt])\(([^()]*)\)")


def _one_second() -> bytes:
    samples = array.array(
        "h", (round(TONE_AMPLITUDE * math.sin(2 * math.pi * TONE_HZ * n / RATE)) for n in range(RATE))
    )
    return samples.tobytes()


_SECOND = _one_second()


def write_wav(path: Path, seconds: float) -> None:
    """A mono 16-bit 8 kHz WAV of ``seconds`` of the quiet tone (whole seconds are one copy each)."""
    frames = max(0, round(seconds * RATE))
    path.parent.mkdir(parents=True, exist_ok=True)
    whole, rest = divmod(frames, RATE)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        for _ in range(whole):
            out.writeframesraw(_SECOND)
        out.writeframes(_SECOND[: rest * 2])


def spool_relative(file: str) -> str | None:
    """The spool-relative path MixMonitor writes ``file`` to; None for a path outside the spool."""
    path = PurePosixPath(file)
    if path.is_absolute():
        if not path.is_relative_to(SPOOL):
            return None
        path = path.relative_to(SPOOL)
    if not path.parts or any(part in ("", ".", "..") for part in path.parts):
        return None
    return str(path)


def recorded_files(file: str, options: str) -> tuple[str, ...]:
    """The main file and the ``r()``/``t()`` legs of MixMonitor(file,options)."""
    return (file, *(leg for _, leg in _LEG.findall(options)))


@dataclass(slots=True)
class _Recording:
    files: tuple[str, ...]
    started: float
    while_bridged: bool
    bridged_since: float | None = None
    bridged_s: float = 0.0


class Recorder:
    """MixMonitor's files for the simulator's channels (see the module's docstring)."""

    def __init__(self, sim: SwitchSimulator, directory: Path | None) -> None:
        self.sim = sim
        self.directory = directory
        self._live: dict[str, _Recording] = {}
        self._writes: set[asyncio.Task[None]] = set()

    def started(self, channel: Channel, file: str, options: str) -> None:
        if self.directory is None:
            return
        files = tuple(f for f in (spool_relative(f) for f in recorded_files(file, options)) if f is not None)
        recording = _Recording(files, self.sim.clock.time(), "b" in _LEG.sub("", options))
        if channel.bridge is not None:
            recording.bridged_since = recording.started
        self._live[channel.name] = recording

    def bridged(self, channel: Channel) -> None:
        recording = self._live.get(channel.name)
        if recording is not None and recording.bridged_since is None:
            recording.bridged_since = self.sim.clock.time()

    def unbridged(self, channel: Channel) -> None:
        recording = self._live.get(channel.name)
        if recording is not None and recording.bridged_since is not None:
            recording.bridged_s += self.sim.clock.time() - recording.bridged_since
            recording.bridged_since = None

    def stopped(self, channel: Channel) -> None:
        """The recording ends: its files are written off the event loop."""
        self.unbridged(channel)
        recording = self._live.pop(channel.name, None)
        if recording is None or self.directory is None:
            return
        if recording.while_bridged:
            seconds = recording.bridged_s
            if seconds <= 0:
                return  # option b and never bridged: Asterisk opens no file
        else:
            seconds = self.sim.clock.time() - recording.started
        paths = [self.directory / relative for relative in recording.files]
        task = self.sim.spawn(self._write(paths, seconds), name=f"recording-{channel.uniqueid}")
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _write(self, paths: list[Path], seconds: float) -> None:
        for path in paths:
            try:
                await asyncio.to_thread(write_wav, path, seconds)
            except OSError as exc:
                log.warning(
                    "simulator_recording_not_written", extra={"kv": {"file": str(path), "error": str(exc)}}
                )

    async def flushed(self) -> None:
        """Until every recording that has stopped is on disk."""
        while self._writes:
            await asyncio.gather(*list(self._writes), return_exceptions=True)
