"""Transcode spool WAVs to a compressed store with ffmpeg, in a bounded pool of subprocesses.

ffmpeg runs as a child process, spawned and waited for in worker threads, so the event loop
only awaits futures. The
output is written to ``<name>.part`` and renamed only once verified: ffmpeg exited 0, the file
starts like the format it claims, and the encoder's own count of output time matches the
source's duration. A stop in the middle kills ffmpeg and leaves the ``.part`` behind, which the
next attempt overwrites; the spool original is never touched here.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from recording.errors import TranscodeFailed

FFMPEG = "ffmpeg"
DURATION_TOLERANCE_S = 0.5
TIMEOUT_S = 600.0  # a one-hour call encodes in seconds; this catches a hung ffmpeg
# Transcoding is background work: at a lower priority the scheduler keeps the event loop (calls,
# screen-pops) on a core when every core is busy encoding. Alone on the machine it costs nothing.
# On Linux ffmpeg also runs in the SCHED_IDLE class: a niceness of 10 still leaves it a tenth of
# a core's weight against the loop, enough for 10 ms stalls on two busy cores; an idle-class task
# yields the core as soon as the loop wakes.
NICE = 10


@dataclass(frozen=True, slots=True)
class Codec:
    extension: str
    args: tuple[str, ...]
    magic: tuple[bytes, ...]  # how a good output file starts


CODECS = {
    # 8 kHz telephone audio: MPEG-2.5 layer III at 16 kbit/s per channel.
    "mp3": Codec(
        "mp3", ("-c:a", "libmp3lame", "-b:a", "16k", "-f", "mp3"), (b"ID3", b"\xff\xe2", b"\xff\xe3")
    ),
    "opus": Codec("opus", ("-c:a", "libopus", "-b:a", "16k", "-f", "ogg"), (b"OggS",)),
}


@dataclass(frozen=True, slots=True)
class Transcoded:
    path: Path
    size_bytes: int
    duration_s: float
    checksum: str  # sha256, hex


def ffmpeg_args(
    sources: Sequence[Path], destination: Path, codec: Codec, *, ffmpeg: str = FFMPEG
) -> list[str]:
    """The command line; two sources (caller, agent) are merged into one stereo file."""
    args = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    for source in sources:
        args += ["-i", str(source)]
    if len(sources) == 2:
        args += ["-filter_complex", "[0:a][1:a]amerge=inputs=2[a]", "-map", "[a]"]
    elif len(sources) != 1:
        raise ValueError("one mixed file or two legs")
    args += [*codec.args, "-progress", "pipe:1", "-nostats", str(destination)]
    return args


def _out_time_s(progress: bytes) -> float:
    seconds = 0.0
    for line in progress.splitlines():
        if line.startswith(b"out_time_us="):
            with contextlib.suppress(ValueError):
                seconds = max(seconds, int(line.split(b"=", 1)[1]) / 1_000_000)
    return seconds


def _finish(part: Path, destination: Path, codec: Codec) -> tuple[int, str, bytes]:
    """Check the magic, fsync, rename, hash — in a worker thread (file I/O)."""
    digest = hashlib.sha256()
    with part.open("rb") as reader:
        head = reader.read(4)
        digest.update(head)
        for block in iter(lambda: reader.read(1 << 16), b""):
            digest.update(block)
        os.fsync(reader.fileno())
    if not head.startswith(codec.magic):
        return 0, "", head
    os.replace(part, destination)
    return destination.stat().st_size, digest.hexdigest(), head


def _spawn(args: list[str], nice: int) -> subprocess.Popen[bytes]:
    # An absolute program and close_fds=False let subprocess use posix_spawn (vfork) instead of
    # fork: no copy of the process's page tables. Python's own descriptors are not inheritable
    # (PEP 446), so ffmpeg still gets only its three pipes.
    program = shutil.which(args[0]) or args[0]
    process = subprocess.Popen(
        [program, *args[1:]],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        close_fds=False,
    )
    if nice:
        background_priority(process.pid, nice)
    return process


def background_priority(pid: int, nice: int = NICE) -> None:
    """Lower a process to background priority: ``nice``, and the idle scheduling class on Linux."""
    with contextlib.suppress(OSError):  # it may have exited already
        os.setpriority(os.PRIO_PROCESS, pid, nice)
        if hasattr(os, "SCHED_IDLE"):
            os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))


class Transcoder:
    """At most ``workers`` ffmpeg processes at once; callers beyond that wait their turn."""

    def __init__(
        self, workers: int = 2, *, format: str = "mp3", ffmpeg: str = FFMPEG, nice: int = NICE
    ) -> None:
        if format not in CODECS:
            raise ValueError(f"unknown recording format {format!r}; one of {', '.join(CODECS)}")
        self.codec = CODECS[format]
        self.ffmpeg = ffmpeg
        self.nice = nice
        self._slots = asyncio.Semaphore(max(1, workers))

    async def transcode(
        self, sources: Sequence[Path], destination: Path, *, expected_s: float, timeout_s: float = TIMEOUT_S
    ) -> Transcoded:
        destination.parent.mkdir(parents=True, exist_ok=True)
        part = destination.with_name(destination.name + ".part")
        async with self._slots:
            args = ffmpeg_args(sources, part, self.codec, ffmpeg=self.ffmpeg)
            # Spawned and waited for in worker threads: forking from the loop's thread stalls
            # the loop for milliseconds per ffmpeg, which shows up as lag for every call.
            try:
                process = await asyncio.to_thread(_spawn, args, self.nice)
            except OSError as exc:
                raise TranscodeFailed(f"cannot run {self.ffmpeg}: {exc}") from None
            try:
                progress, errors = await asyncio.wait_for(asyncio.to_thread(process.communicate), timeout_s)
            except BaseException:  # cancelled or timed out: no orphaned ffmpeg
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await asyncio.to_thread(process.wait)
                raise
        if process.returncode != 0:
            message = errors.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
            raise TranscodeFailed(f"ffmpeg exited {process.returncode} on {sources[0].name}: {message[0]}")
        duration = _out_time_s(progress)
        if abs(duration - expected_s) > DURATION_TOLERANCE_S:
            raise TranscodeFailed(
                f"{destination.name}: encoded {duration:.2f} s of a {expected_s:.2f} s recording"
            )
        size, checksum, _head = await asyncio.to_thread(_finish, part, destination, self.codec)
        if not checksum:
            raise TranscodeFailed(
                f"{destination.name}: the output does not start like {self.codec.extension}"
            )
        return Transcoded(destination, size, duration, checksum)
