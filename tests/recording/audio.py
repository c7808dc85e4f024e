"""Real audio for the recording tests, made with sox and espeak-ng (Debian packages)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

RATE = 8000
HAVE_TOOLS = all(shutil.which(tool) for tool in ("sox", "espeak-ng", "ffmpeg"))


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=30)


def speech(path: Path, text: str) -> Path:
    """espeak-ng's voice, as Asterisk writes it: 8 kHz, 16-bit, mono."""
    raw = path.with_suffix(".raw.wav")
    _run("espeak-ng", "-w", str(raw), text)
    _run("sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(path))
    raw.unlink()
    return path


def silence(path: Path, seconds: float) -> Path:
    _run("sox", "-n", "-r", str(RATE), "-c", "1", "-b", "16", str(path), "trim", "0", str(seconds))
    return path


def tone(path: Path, seconds: float, frequency: int = 440) -> Path:
    _run(
        "sox", "-n", "-r", str(RATE), "-c", "1", "-b", "16", str(path),
        "synth", str(seconds), "sine", str(frequency), "vol", "0.5",
    )  # fmt: skip
    return path


def concat(path: Path, *parts: Path) -> Path:
    _run("sox", *map(str, parts), str(path))
    return path


def mix(path: Path, *legs: Path) -> Path:
    _run("sox", "-m", *map(str, legs), str(path))
    return path


def duration_s(path: Path) -> float:
    out = subprocess.run(["soxi", "-D", str(path)], check=True, capture_output=True, text=True, timeout=10)
    return float(out.stdout)


def call_legs(folder: Path) -> tuple[Path, Path]:
    """A short call: the caller speaks, then the agent answers, 1 s of both at once at the end.

    Caller: speech (~1.5 s) then silence; agent: silence, speech, and a tone overlapping the
    caller's closing tone. Both legs have the same length, as r()/t() files do.
    """
    folder.mkdir(parents=True, exist_ok=True)
    hello = speech(folder / "hello.wav", "Hello, my order has not arrived.")
    answer = speech(folder / "answer.wav", "Let me check that for you.")
    gap = silence(folder / "gap.wav", 1.0)
    beep = tone(folder / "beep.wav", 1.0, 440)
    beep2 = tone(folder / "beep2.wav", 1.0, 660)
    h, a = duration_s(hello), duration_s(answer)
    caller = concat(folder / "caller.wav", hello, silence(folder / "c-pad.wav", a + 1.0), gap, beep)
    agent = concat(folder / "agent.wav", silence(folder / "a-pad.wav", h + 1.0), answer, gap, beep2)
    return caller, agent
