"""A call through the switch simulator and the whole composition root: the simulator announces
MixMonitor but writes no audio, so the test puts a generated WAV where the dialplan would have."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from crm import recordings as index
from crm.recordings import RecordingQuery, RecordingState
from cti.events import CallEnded, RecordingStarted, SwitchResynced
from cti.simulator import CallerScript
from recording.events import RecordingReady
from recording.storage.paths import relative_path
from tests.e2e.system import running_system
from tests.recording import audio

pytestmark = pytest.mark.skipif(not audio.HAVE_TOOLS, reason="sox, espeak-ng and ffmpeg are needed")


async def test_a_simulated_call_is_recorded_indexed_transcoded_searchable_and_purged_after_retention(
    tmp_path: Path, mixed: Path
) -> None:
    kinds = (SwitchResynced, RecordingStarted, CallEnded, RecordingReady)
    async with running_system(tmp_path, kinds) as system:
        hotline, watch = system.hotline, system.watch
        await watch.until(SwitchResynced)
        await hotline.acd.login("agent1001")
        system.sim.place_call(CallerScript(caller="13800131001", presses=((0.4, "0"),), hangup_after_s=None))

        started = await watch.until(RecordingStarted)
        spool = Path(hotline.settings.recording.spool_dir)
        target = spool / relative_path(started.file)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(mixed, target)  # what MixMonitor would have written

        await watch.until(CallEnded, lambda e: e.call_id == started.call_id)
        ready = await watch.until(RecordingReady, lambda e: e.call_id == started.call_id)

        recording = await index.get_recording(hotline.db, ready.recording_id)
        assert recording.state is RecordingState.STORED
        assert (recording.agent, recording.queue, recording.number) == ("agent1001", "support", "13800131001")
        assert recording.duration_s == pytest.approx(audio.duration_s(mixed), abs=0.05)
        assert not target.exists()
        stored = Path(hotline.settings.recording.store_dir) / recording.stored_path
        assert stored.is_file()
        found = await index.search(hotline.db, RecordingQuery(agent="agent1001", number="1001"))
        assert [r.id for r in found] == [recording.id]

        assert await hotline.recording.purge(recording.retain_until - timedelta(seconds=1)) == ()
        purged = await hotline.recording.purge(recording.retain_until + timedelta(seconds=1))
        assert [p.recording_id for p in purged] == [recording.id]
        assert not stored.exists()
