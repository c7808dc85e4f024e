"""MixMonitor's files: with a recordings directory the simulator leaves, when a recording stops,
the WAV files the production dialplan asked for, where Hotline's recording service looks."""

from __future__ import annotations

import wave
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from cti.ami_protocol import first
from cti.events import RecordingStarted
from cti.simulator import AgentScript, CallerScript, Dialplan
from cti.simulator.recordings import RATE, write_wav
from recording.storage.paths import leg_paths, relative_path, safe_join
from tests.simulator.helpers import Rig, rig

AGENTS = [AgentScript("1001", answer_after_s=2.0)]


@asynccontextmanager
async def recorded(spool: Path, agents: list[AgentScript] = AGENTS) -> AsyncIterator[Rig]:
    """The production dialplan without a FastAGI server: the fallback queue's agent answers."""
    async with rig(agents, dialplan=Dialplan.HOTLINE, recordings_dir=spool) as r:
        yield r


def seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as audio:
        assert (audio.getnchannels(), audio.getsampwidth(), audio.getframerate()) == (1, 2, RATE)
        return audio.getnframes() / audio.getframerate()


def spool_relative(r: Rig) -> str:
    """The dialplan's recording (the first one started), as the recording service names it."""
    started = next(e for e in r.ami.domain_events() if isinstance(e, RecordingStarted))
    return relative_path(started.file)


def spool_file(r: Rig, spool: Path) -> Path:
    return safe_join(spool, spool_relative(r))


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


async def test_a_recorded_call_leaves_the_bridged_time_where_the_recording_service_looks(
    tmp_path: Path,
) -> None:
    async with recorded(tmp_path) as r:
        call = r.sim.place_call(CallerScript(hangup_after_s=30.0))
        await call.done
        await r.sim.recorder.flushed()
        await r.ami.sync()
        assert call.answered is not None and call.ended is not None
        file = spool_file(r, tmp_path)
        assert abs(seconds(file) - (call.ended - call.answered)) <= 0.3
        assert files_under(tmp_path) == [file]


async def test_split_legs_from_the_start_write_the_mix_and_both_legs_for_the_whole_call(
    tmp_path: Path,
) -> None:
    async with recorded(tmp_path) as r:
        r.sim.global_vars.update(HOTLINE_RECORD_FROM="start", HOTLINE_RECORD_SPLIT="yes")
        call = r.sim.place_call(CallerScript(hangup_after_s=30.0))
        await call.done
        await r.sim.recorder.flushed()
        await r.ami.sync()
        [mixmonitor] = [m for m in r.ami.events("Newexten") if first(m, "Application") == "MixMonitor"]
        path, _, options = first(mixmonitor, "AppData").partition(",")
        base = "/var/spool/asterisk/monitor/" + path.removesuffix(".wav")
        assert options == f"r({base}-in.wav)t({base}-out.wav)"
        file = spool_file(r, tmp_path)
        legs = [safe_join(tmp_path, leg) for leg in leg_paths(spool_relative(r))]
        assert call.ended is not None
        for path in (file, *legs):
            assert abs(seconds(path) - (call.ended - call.arrived)) <= 0.3, path.name


async def test_stop_mixmonitor_ends_the_file_at_the_stop(tmp_path: Path) -> None:
    async with recorded(tmp_path) as r:
        call = r.sim.place_call(CallerScript(hangup_after_s=60.0))
        while call.answered is None:
            await r.clock.sleep(1.0)
        await r.clock.sleep(10.0)
        channel = first(r.ami.events("Newchannel")[0], "Channel")
        before = r.clock.time()
        response = await r.ami.action("StopMixMonitor", Channel=channel)
        after = r.clock.time()
        assert first(response, "Response") == "Success"
        await call.done
        await r.sim.recorder.flushed()
        await r.ami.sync()
        recorded_s = seconds(spool_file(r, tmp_path))
        assert before - call.answered - 0.3 <= recorded_s <= after - call.answered + 0.3
        assert recorded_s < 20.0


async def test_a_call_never_bridged_leaves_no_file_as_mixmonitor_b_opens_none(tmp_path: Path) -> None:
    async with recorded(tmp_path, [AgentScript("1001", answer_after_s=None)]) as r:
        call = r.sim.place_call(CallerScript(hangup_after_s=20.0))
        await call.done
        await r.sim.recorder.flushed()
        assert call.answered is None
        assert files_under(tmp_path) == []


async def test_a_mixmonitor_file_outside_the_spool_is_not_written(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    async with recorded(spool) as r:
        call = r.sim.place_call(CallerScript(hangup_after_s=30.0))
        while call.answered is None:
            await r.clock.sleep(1.0)
        channel = first(r.ami.events("Newchannel")[0], "Channel")
        await r.ami.action("StopMixMonitor", Channel=channel)
        for hostile in ("../escaped.wav", "/etc/hotline-escaped.wav", "a/../../escaped.wav"):
            await r.ami.action("MixMonitor", Channel=channel, File=hostile)
            await r.ami.action("StopMixMonitor", Channel=channel)
        await call.done
        await r.sim.recorder.flushed()
        assert files_under(tmp_path) == [spool_file(r, spool)]
        assert files_under(Path("/etc")).count(Path("/etc/hotline-escaped.wav")) == 0


def test_a_wav_lasts_the_seconds_asked_for_to_the_sample(tmp_path: Path) -> None:
    write_wav(tmp_path / "a" / "b.wav", 2.5)
    assert seconds(tmp_path / "a" / "b.wav") == 2.5
