"""A site whose Asterisk keeps its spool somewhere else than /var/spool/asterisk (``astspooldir``
in asterisk.conf): the file names Asterisk reports are under that folder, and Hotline, told so by
``[recording] asterisk_monitor_dir``, still finds, indexes and stores their recordings."""

from __future__ import annotations

from pathlib import Path

from crm import recordings as index
from crm.recordings import RecordingState
from hotline.settings import load_settings
from recording.service import RecordingConfig, RecordingService
from tests.recording.calls import call_events, place

SITE_MONITOR_DIR = "/srv/pbx/spool/monitor"


def _config(rig, environ: dict[str, str]) -> RecordingConfig:  # type: ignore[no-untyped-def]
    settings = load_settings(
        environ={
            "HOTLINE_RECORDING_SPOOL_DIR": str(rig.config.spool_dir),
            "HOTLINE_RECORDING_STORE_DIR": str(rig.config.store_dir),
            **environ,
        }
    )
    return RecordingConfig.from_settings(settings.recording)


async def test_a_site_with_its_own_spool_dir_still_finds_and_stores_its_recordings(rig, mixed: Path) -> None:
    config = _config(rig, {"HOTLINE_RECORDING_ASTERISK_MONITOR_DIR": SITE_MONITOR_DIR})
    assert config.asterisk_monitor_dir == SITE_MONITOR_DIR
    service = RecordingService(rig.db, rig.bus, rig.switch, config)
    start, end, relative = call_events("1795416380.155", monitor_dir=SITE_MONITOR_DIR)
    for event in start:
        await service.handle(event)
    place(config.spool_dir, relative, mixed)
    for event in end:
        await service.handle(event)

    (recording,) = await index.recordings_of_call(rig.db, "1795416380.155")
    assert recording.spool_path == relative
    stored = await service.process(recording.id)
    assert stored.state is RecordingState.STORED
    assert (config.store_dir / stored.stored_path).is_file()
    assert not (config.spool_dir / relative).exists()


async def test_with_the_stock_setting_the_same_file_name_is_refused_as_outside_the_spool(rig) -> None:
    config = _config(rig, {})
    assert config.asterisk_monitor_dir == "/var/spool/asterisk/monitor"
    service = RecordingService(rig.db, rig.bus, rig.switch, config)
    start, end, _ = call_events("1795416380.156", monitor_dir=SITE_MONITOR_DIR)
    for event in [*start, *end]:
        await service.handle(event)
    assert await index.recordings_of_call(rig.db, "1795416380.156") == ()
