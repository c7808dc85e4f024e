from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from crm.db import Database
from crm.migrate import upgrade
from cti.bus import EventBus
from recording.service import RecordingConfig, RecordingService
from tests.recording import audio

pytestmark = pytest.mark.skipif(not audio.HAVE_TOOLS, reason="sox, espeak-ng and ffmpeg are needed")


@dataclass
class MuteSwitch:
    """The few switch actions recording/ uses, remembered."""

    requests: list[tuple[str, Any, ...]] = field(default_factory=list)

    async def mixmonitor_mute(self, channel: str, *, mute: bool, direction: str = "both", **_: Any) -> None:
        self.requests.append(("mute", channel, mute))

    async def mixmonitor_stop(self, channel: str, **_: Any) -> None:
        self.requests.append(("stop", channel))


@dataclass
class Rig:
    tmp: Path
    db: Database
    bus: EventBus
    switch: MuteSwitch
    config: RecordingConfig

    def service(self, **kwargs: Any) -> RecordingService:
        return RecordingService(self.db, self.bus, self.switch, self.config, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}")
    await upgrade(db)
    config = RecordingConfig(
        spool_dir=tmp_path / "spool", store_dir=tmp_path / "store", workers=2, purge_every_s=0
    )
    config.spool_dir.mkdir()
    try:
        yield Rig(tmp_path, db, EventBus(), MuteSwitch(), config)
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def legs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if not audio.HAVE_TOOLS:
        pytest.skip("sox, espeak-ng and ffmpeg are needed")
    return audio.call_legs(tmp_path_factory.mktemp("audio"))


@pytest.fixture(scope="session")
def mixed(legs: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return audio.mix(tmp_path_factory.mktemp("mixed") / "mixed.wav", *legs)
