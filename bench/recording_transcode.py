"""Recording transcode: 100 one-minute stereo WAVs through Hotline's worker pool, against the
ffmpeg command line on the same files, both with two processes at once (both cores busy).

Hotline's pool (recording.storage.transcode.Transcoder, ``workers=2``) runs ffmpeg as asyncio
subprocesses and also verifies each output (exit status, the format's magic bytes, the encoder's
output time against the source's duration), fsyncs, renames from ``.part`` and hashes it
(sha256) — everything the service does before it may delete a spool original. The reference is
the bare ffmpeg command line with the same codec options, two at a time from a thread pool.
Both run ffmpeg at the pool's background priority (niceness recording.storage.transcode.NICE and,
on Linux, the SCHED_IDLE class), so the ratio measures the pool's own overhead. Each round runs
the files in batches of ten, alternating which side goes first, against drift in whatever else
the machine is doing; the figures are the medians of the rounds.
While the pool runs, a ticker on the event loop measures its lag (how late a 2 ms sleep wakes).

The WAVs are generated once with sox into a cache folder outside the repository
(``$HOTLINE_BENCH_CACHE`` or ``~/.cache/hotline-bench``) and reused.

Target: throughput ≥ 0.8 of the ffmpeg command line; event-loop lag < 10 ms throughout.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recording.storage.transcode import CODECS, NICE, Transcoder

FILES = 100
SECONDS = 60
WORKERS = 2
ROUNDS = 3
BATCH = 10
TICK_S = 0.002


def cache_dir() -> Path:
    root = os.environ.get("HOTLINE_BENCH_CACHE") or str(Path.home() / ".cache" / "hotline-bench")
    folder = Path(root) / f"recording-{FILES}x{SECONDS}s-stereo"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def make_wavs(folder: Path) -> list[Path]:
    """Caller and agent as two channels: tone bursts, noise and gaps, different in every file."""
    paths = []
    for index in range(FILES):
        path = folder / f"call-{index:03d}.wav"
        if not path.exists() or path.stat().st_size < 8000 * 4 * SECONDS:
            left, right = 300 + index * 7, 500 + index * 5
            part = path.with_suffix(".part.wav")
            subprocess.run(
                ["sox", "-n", "-r", "8000", "-b", "16", "-c", "2", str(part),
                 "synth", str(SECONDS), "sine", str(left), "sine", str(right),
                 "tremolo", str(0.3 + index % 5 / 10), "90", "vol", "0.4"],
                check=True, capture_output=True, timeout=60,
            )  # fmt: skip
            part.replace(path)
        paths.append(path)
    return paths


def reference_args(source: Path, destination: Path) -> list[str]:
    return [
        "chrt", "--idle", "0", "nice", "-n", str(NICE),
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        "-i", str(source), *CODECS["mp3"].args, str(destination),
    ]  # fmt: skip


def run_reference(sources: list[Path], out: Path) -> float:
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        jobs = [
            pool.submit(subprocess.run, reference_args(s, out / f"{s.stem}.mp3"), check=True, timeout=120)
            for s in sources
        ]
        for job in jobs:
            job.result()
    return time.perf_counter() - started


async def idle_lag(seconds: float) -> list[float]:
    """The loop's lag with nothing to do: what the machine's other load costs on its own."""
    lags = []
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        before = loop.time()
        await asyncio.sleep(TICK_S)
        lags.append(loop.time() - before - TICK_S)
    return lags


async def run_pool(sources: list[Path], out: Path, lags: list[float]) -> float:
    transcoder = Transcoder(WORKERS, format="mp3")
    stop = asyncio.Event()

    async def ticker() -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            before = loop.time()
            await asyncio.sleep(TICK_S)
            lags.append(loop.time() - before - TICK_S)

    tick = asyncio.create_task(ticker())
    started = time.perf_counter()
    results = await asyncio.gather(
        *(transcoder.transcode([s], out / f"{s.stem}.mp3", expected_s=SECONDS) for s in sources)
    )
    elapsed = time.perf_counter() - started
    stop.set()
    await tick
    assert all(r.size_bytes > 0 and r.checksum for r in results)
    return elapsed


def main() -> None:
    for tool in ("ffmpeg", "sox"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (Debian package {tool})")
    print(f"cpus: {os.cpu_count()}  files: {FILES} x {SECONDS} s stereo 8 kHz WAV  workers: {WORKERS}")
    sources = make_wavs(cache_dir())
    for source in sources[:1]:
        with wave.open(str(source)) as reader:
            assert reader.getnchannels() == 2 and reader.getnframes() == 8000 * SECONDS
    audio_s = FILES * SECONDS
    idle = asyncio.run(idle_lag(5.0))
    print(f"event-loop lag with no transcoding (the machine's other load): max {max(idle) * 1000:.2f} ms")
    reference_times, pool_times, lags = [], [], []
    with tempfile.TemporaryDirectory(prefix="hotline-transcode-") as tmp:
        out = Path(tmp)
        run_reference(sources[:4], out)  # warm the page cache and ffmpeg's libraries
        for round_number in range(ROUNDS):
            # Batches of ten, alternating which side goes first: load from elsewhere on the
            # machine then falls on both sides alike instead of on whichever ran during a burst.
            round_lags: list[float] = []
            reference_s = pool_s = 0.0
            for start in range(0, FILES, BATCH):
                batch = sources[start : start + BATCH]
                if (start // BATCH + round_number) % 2:
                    pool_s += asyncio.run(run_pool(batch, out, round_lags))
                    reference_s += run_reference(batch, out)
                else:
                    reference_s += run_reference(batch, out)
                    pool_s += asyncio.run(run_pool(batch, out, round_lags))
            reference_times.append(reference_s)
            pool_times.append(pool_s)
            lags += round_lags
            print(
                f"round {round_number + 1}: ffmpeg CLI {reference_s:.2f} s, "
                f"pool {pool_s:.2f} s, loop lag max {max(round_lags) * 1000:.2f} ms"
            )
    reference = FILES / statistics.median(reference_times)
    value = FILES / statistics.median(pool_times)
    lag_ms = sorted(lags)
    p99 = lag_ms[int(len(lag_ms) * 0.99)] * 1000
    print(f"ffmpeg command line: {reference:.1f} files/s ({reference * SECONDS:.0f}x real time)")
    print(
        f"worker pool:         {value:.1f} files/s ({value * SECONDS:.0f}x real time, {audio_s} s of audio)"
    )
    print(f"event-loop lag: max {max(lags) * 1000:.2f} ms, p99 {p99:.2f} ms over {len(lags)} ticks")
    ratio = value / reference
    print(
        json.dumps(
            {
                "bench": "recording_transcode",
                "value": round(value, 2),
                "unit": "files/s",
                "reference": round(reference, 2),
                "ratio": round(ratio, 3),
                "target": f">= 0.8 of the ffmpeg command line; loop lag < 10 ms (max {max(lags) * 1000:.2f})",
            }
        )
    )


if __name__ == "__main__":
    main()
