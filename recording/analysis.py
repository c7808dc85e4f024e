"""Talk, silence and cross-talk of a recording, computed with pydub after the call.

Runs in a worker (thread or process), never on the event loop: it decodes the whole file.
Talk is where the level is above ``SILENCE_DBFS`` for longer than a syllable; cross-talk, when
caller and agent are on separate channels, is the time both talk at once.
"""

from __future__ import annotations

import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydub import AudioSegment
from pydub.silence import detect_nonsilent

from recording.errors import BadAudio

SILENCE_DBFS = -42.0
MIN_SILENCE_MS = 300
SEEK_STEP_MS = 10
MIN_HEADER_BYTES = 44  # RIFF + fmt + data chunk headers of the smallest WAV


@dataclass(frozen=True, slots=True)
class WavInfo:
    channels: int
    rate: int
    sample_width: int
    frames: int

    @property
    def duration_s(self) -> float:
        return self.frames / self.rate if self.rate else 0.0


@dataclass(frozen=True, slots=True)
class Analysis:
    duration_s: float
    channels: int
    talk_ratio: float
    silence_ratio: float
    crosstalk_s: float | None  # None for a mono mix: who spoke when cannot be told apart


def check_wav(path: str | Path) -> WavInfo:
    """Header and size agree, or :class:`BadAudio` says what is wrong with the file."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with wave.open(str(path), "rb") as reader:
            info = WavInfo(
                reader.getnchannels(), reader.getframerate(), reader.getsampwidth(), reader.getnframes()
            )
            header_bytes = size - info.frames * info.channels * info.sample_width
    except FileNotFoundError:
        raise BadAudio(f"{path.name}: the file is missing from the spool") from None
    except (wave.Error, EOFError) as exc:
        raise BadAudio(f"{path.name}: not a readable WAV file ({exc or 'cut short'})") from None
    if info.rate <= 0 or info.channels <= 0:
        raise BadAudio(f"{path.name}: the WAV header has no sample rate or channels")
    if header_bytes < MIN_HEADER_BYTES:
        raise BadAudio(
            f"{path.name}: truncated — the header promises {info.frames} frames, the file holds {size} bytes"
        )
    return info


def _talk_ranges(segment: AudioSegment) -> list[tuple[int, int]]:
    return [
        (start, end)
        for start, end in detect_nonsilent(
            segment, min_silence_len=MIN_SILENCE_MS, silence_thresh=SILENCE_DBFS, seek_step=SEEK_STEP_MS
        )
    ]


def _covered_ms(ranges: Sequence[tuple[int, int]]) -> int:
    total, last_end = 0, -1
    for start, end in sorted(ranges):
        start = max(start, last_end)
        if end > start:
            total += end - start
        last_end = max(last_end, end)
    return total


def _overlap_ms(a: Sequence[tuple[int, int]], b: Sequence[tuple[int, int]]) -> int:
    total, i, j = 0, 0, 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if end > start:
            total += end - start
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


def analyse(path: str | Path, legs: Sequence[str | Path] = ()) -> Analysis:
    """Analyse one WAV (mono mix or stereo caller/agent) or the two legs of a split recording."""
    files = [Path(p) for p in legs] or [Path(path)]
    for file in files:
        check_wav(file)
    try:
        segments = [AudioSegment.from_wav(str(file)) for file in files]
    except Exception as exc:  # pydub raises its own and the wave module's errors
        raise BadAudio(f"{files[0].name}: cannot decode ({exc})") from None
    if len(segments) == 1 and segments[0].channels == 2:
        segments = segments[0].split_to_mono()
    duration_ms = max(len(s) for s in segments)
    if duration_ms == 0:
        raise BadAudio(f"{files[0].name}: the recording holds no audio")
    per_channel = [_talk_ranges(s) for s in segments]
    talk_ms = _covered_ms([r for ranges in per_channel for r in ranges])
    crosstalk = _overlap_ms(per_channel[0], per_channel[1]) / 1000 if len(per_channel) == 2 else None
    talk_ratio = min(1.0, talk_ms / duration_ms)
    return Analysis(
        duration_s=duration_ms / 1000,
        channels=len(segments),
        talk_ratio=round(talk_ratio, 4),
        silence_ratio=round(1.0 - talk_ratio, 4),
        crosstalk_s=crosstalk,
    )
