"""``hotline demo`` end to end, on virtual time: Hotline's link and tracker read every call."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from cti.simulator import VirtualClock
from hotline.commands.demo import run_demo
from hotline.commands.replay import replay


async def test_demo_reports_every_call_and_records_a_replayable_stream(tmp_path: Path) -> None:
    clock = VirtualClock()
    ticking = asyncio.create_task(clock.run())
    out = io.StringIO()
    record = tmp_path / "demo.ami"
    try:
        view = await run_demo(
            calls=25,
            rate=5.0,
            agents=3,
            seed=3,
            agi_url="agi://127.0.0.1:1/ivr",
            record_path=record,
            out=out,
            clock=clock,
        )
    finally:
        ticking.cancel()
    assert len(view.offered) == 25
    assert len(view.ended) == 25
    assert len(view.answered) + len(view.abandoned) == 25
    assert view.answered and view.abandoned
    assert "offered:   25" in out.getvalue()
    data = record.read_bytes()
    assert data.startswith(b"Asterisk Call Manager/11.0.0\r\n")
    assert data.endswith(b"Message: Thanks for all the fish.\r\n\r\n")
    replayed = io.StringIO()
    replay([data], replayed, io.StringIO())
    assert replayed.getvalue().count('"event": "CallOffered"') == 25
    assert replayed.getvalue().count('"event": "CallEnded"') == 25


def test_the_demo_command_is_registered_and_refuses_nonsense_counts() -> None:
    from hotline.cli import build_parser
    from hotline.commands.demo import run

    args = build_parser().parse_args(["demo", "--calls", "0", "--rate", "5"])
    assert args.run is run
    assert run(args) == 2
