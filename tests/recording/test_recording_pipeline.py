"""A call's recording through the whole pipeline: indexed, analysed, transcoded, stored."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import stat
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from crm import recordings as index
from crm.recordings import RecordingState
from cti.events import CallAnswered, RecordingStarted
from recording.errors import RecordingNotFound
from recording.events import RecordingFailed, RecordingReady
from recording.policy import Plan, RecordFrom, RecordingPolicy, Rule
from recording.storage.transcode import NICE, Transcoder, _spawn
from tests.recording.audio import duration_s
from tests.recording.calls import T0, call_events, place


def _probe(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
        timeout=10,
    )
    return json.loads(out.stdout)


async def _run_call(service, rig, call_id: str, source: Path, legs=(), **kwargs):
    start, end, relative = call_events(call_id, **kwargs)
    for event in start:
        await service.handle(event)
    place(rig.config.spool_dir, relative, source, legs)
    for event in end:
        await service.handle(event)
    (recording,) = await index.recordings_of_call(rig.db, call_id)
    return recording, relative


async def test_a_recorded_call_is_indexed_analysed_transcoded_and_its_original_removed(rig, mixed):
    service = rig.service(agent_of=lambda interface: "agent1001" if interface == "PJSIP/1001" else "")
    ready = rig.bus.subscribe("t", RecordingReady)
    recording, relative = await _run_call(service, rig, "1795416380.155", mixed)
    assert recording.state is RecordingState.PENDING
    assert (recording.agent, recording.queue, recording.number) == ("agent1001", "support", "13800138000")

    stored = await service.process(recording.id)

    assert stored.state is RecordingState.STORED
    assert stored.duration_s == pytest.approx(duration_s(mixed), abs=0.05)
    assert 0.45 <= stored.talk_ratio <= 0.8
    assert stored.silence_ratio == pytest.approx(1 - stored.talk_ratio)
    assert stored.crosstalk_s is None  # a mono mix cannot tell who spoke
    path = rig.config.store_dir / stored.stored_path
    assert stored.stored_path == relative.replace(".wav", ".mp3")
    assert stored.checksum == hashlib.sha256(path.read_bytes()).hexdigest()
    assert stored.size_bytes == path.stat().st_size < mixed.stat().st_size / 4
    probe = _probe(path)
    assert probe["streams"][0]["codec_name"] == "mp3"
    assert float(probe["format"]["duration"]) == pytest.approx(stored.duration_s, abs=0.3)
    assert not (rig.config.spool_dir / relative).exists()
    assert (stored.retain_until - stored.ended_at).days == 180
    event = ready.get_nowait()
    assert (event.recording_id, event.call_id) == (stored.id, "1795416380.155")


async def test_split_legs_are_merged_to_stereo_and_cross_talk_is_measured(rig, legs, mixed):
    service = rig.service(policy=RecordingPolicy(default=Plan(split=True)))
    recording, relative = await _run_call(service, rig, "1795416380.160", mixed, legs)
    assert recording.legs == (relative.replace(".wav", "-in.wav"), relative.replace(".wav", "-out.wav"))

    stored = await service.process(recording.id)

    assert stored.state is RecordingState.STORED
    assert stored.channels == 2
    assert stored.crosstalk_s == pytest.approx(1.0, abs=0.15)
    assert _probe(rig.config.store_dir / stored.stored_path)["streams"][0]["channels"] == 2
    for leg in recording.legs:
        assert not (rig.config.spool_dir / leg).exists()


async def test_a_truncated_wav_fails_with_a_clear_error_and_the_original_is_kept(rig, mixed):
    service = rig.service()
    failed = rig.bus.subscribe("t", RecordingFailed)
    cut = rig.tmp / "cut.wav"
    cut.write_bytes(mixed.read_bytes()[: mixed.stat().st_size // 2])
    recording, relative = await _run_call(service, rig, "1795416380.170", cut)

    result = await service.process(recording.id)

    assert result.state is RecordingState.FAILED
    assert "truncated" in result.error
    assert (rig.config.spool_dir / relative).read_bytes() == cut.read_bytes()
    assert failed.get_nowait().recording_id == recording.id


async def test_a_missing_spool_file_fails_and_says_so(rig):
    service = rig.service()
    start, end, _ = call_events("1795416380.171")
    for event in [*start, *end]:
        await service.handle(event)
    (recording,) = await index.recordings_of_call(rig.db, "1795416380.171")
    result = await service.process(recording.id)
    assert result.state is RecordingState.FAILED
    assert "missing from the spool" in result.error


@pytest.mark.parametrize(
    "file",
    [
        "/var/spool/asterisk/monitor/../../../etc/passwd",
        "/etc/passwd",
        "2026/11/18/../../../../x.wav",
        "2026/11/18/1.2/.hidden.wav",
        "2026/11/18/1.2/a\x00.wav",
    ],
)
async def test_a_recording_file_outside_the_spool_is_refused_and_not_indexed(rig, file):
    service = rig.service()
    await service.handle(RecordingStarted(at=T0, call_id="1.2", channel="PJSIP/trunk-1", file=file))
    assert await index.recordings_of_call(rig.db, "1.2") == ()


async def test_a_transcode_interrupted_by_a_stop_resumes_on_the_next_start(rig, mixed):
    hung = rig.tmp / "hung-ffmpeg"
    started = rig.tmp / "ffmpeg-started"
    hung.write_text(f"#!/bin/sh\n: > '{started}'\nexec sleep 60\n")
    hung.chmod(hung.stat().st_mode | stat.S_IEXEC)
    transcoding = asyncio.Event()

    def on_state(recording_id, state):
        if state is RecordingState.TRANSCODING:
            transcoding.set()

    first = rig.service(transcoder=Transcoder(1, ffmpeg=str(hung)), on_state=on_state)
    await first.start()
    recording, relative = await _run_call(first, rig, "1795416380.180", mixed)
    await asyncio.wait_for(transcoding.wait(), 10)
    await first.stop()

    interrupted = await index.get_recording(rig.db, recording.id)
    assert interrupted.state is RecordingState.TRANSCODING
    assert (rig.config.spool_dir / relative).exists()  # nothing lost

    stored_states: asyncio.Queue = asyncio.Queue()
    second = rig.service(on_state=lambda rid, state: stored_states.put_nowait(state))
    await second.start()
    try:
        while (state := await asyncio.wait_for(stored_states.get(), 10)) is not RecordingState.STORED:
            assert state is RecordingState.TRANSCODING
    finally:
        await second.stop()
    done = await index.get_recording(rig.db, recording.id)
    assert done.state is RecordingState.STORED
    assert not (rig.config.spool_dir / relative).exists()
    assert (rig.config.store_dir / done.stored_path).is_file()
    assert not list(rig.config.store_dir.rglob("*.part"))
    assert (rig.config.store_dir / done.stored_path).stat().st_size == done.size_bytes


async def test_a_queue_the_policy_does_not_record_has_its_mixmonitor_stopped(rig):
    policy = RecordingPolicy(rules=(Rule(queue="vip", record=False),))
    service = rig.service(policy=policy)
    start, _, _ = call_events("1795416380.190", queue="vip")
    for event in start:
        await service.handle(event)
    assert ("stop", "PJSIP/trunk-00000001") in rig.switch.requests
    (recording,) = await index.recordings_of_call(rig.db, "1795416380.190")
    assert recording.state is RecordingState.PURGED
    assert "vip" in recording.error


async def test_pause_and_resume_mute_the_live_recording_through_the_switch(rig):
    service = rig.service()
    start, end, _ = call_events("1795416380.200")
    for event in start:
        await service.handle(event)
    await service.set_paused("1795416380.200", True)
    await service.set_paused("1795416380.200", False)
    assert rig.switch.requests == [
        ("mute", "PJSIP/trunk-00000001", True),
        ("mute", "PJSIP/trunk-00000001", False),
    ]
    for event in end:
        await service.handle(event)
    with pytest.raises(RecordingNotFound, match="no recording in progress"):
        await service.set_paused("1795416380.200", True)


async def test_an_opus_store_holds_ogg_opus_files(rig, mixed):
    from dataclasses import replace

    rig.config = replace(rig.config, format="opus")
    service = rig.service()
    recording, relative = await _run_call(service, rig, "1795416380.210", mixed)
    stored = await service.process(recording.id)
    assert stored.stored_path == relative.replace(".wav", ".opus")
    probe = _probe(rig.config.store_dir / stored.stored_path)
    assert probe["streams"][0]["codec_name"] == "opus"
    assert service.file_of(stored).read_bytes()[:4] == b"OggS"


async def test_an_abandoned_call_recorded_from_the_answer_is_not_a_failed_recording(rig):
    service = rig.service()
    failed = rig.bus.subscribe("t", RecordingFailed)
    start, end, _ = call_events("1795416380.170")
    for event in start:
        if not isinstance(event, CallAnswered):
            await service.handle(event)
    await service.handle(replace(end[0], agent=""))
    (recording,) = await index.recordings_of_call(rig.db, "1795416380.170")
    assert recording.state is RecordingState.PURGED
    assert recording.error == "not recorded: the call was never answered"
    assert failed.pending() == 0


async def test_an_abandoned_call_recorded_from_the_start_still_has_its_file_processed(rig, mixed):
    service = rig.service(policy=RecordingPolicy(default=Plan(record_from=RecordFrom.START)))
    start, end, relative = call_events("1795416380.171")
    for event in start:
        if not isinstance(event, CallAnswered):
            await service.handle(event)
    place(rig.config.spool_dir, relative, mixed)
    await service.handle(replace(end[0], agent=""))
    (recording,) = await index.recordings_of_call(rig.db, "1795416380.171")
    assert recording.state is RecordingState.PENDING


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="the idle scheduling class is Linux's")
def test_ffmpeg_runs_as_background_work_so_the_event_loop_keeps_its_core() -> None:
    process = _spawn(["sleep", "5"], NICE)
    try:
        assert os.getpriority(os.PRIO_PROCESS, process.pid) == NICE
        assert os.sched_getscheduler(process.pid) == os.SCHED_IDLE
    finally:
        process.kill()
        process.communicate()
