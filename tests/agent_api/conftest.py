from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.agent_api.stack import Stack


@pytest.fixture
async def stack(tmp_path) -> AsyncIterator[Stack]:
    running = await Stack(tmp_path).start()
    try:
        yield running
    finally:
        await running.stop()
