"""``hotline demo``: Hotline end to end against the switch simulator.

N callers arrive at R calls/s (seeded) on the simulated hotline; a few simulated agents sit in
the queues (app_queue's static members: what Asterisk does when Hotline's IVR and router are not
running — the fallback of docs/routing.md). Hotline's own AMI link and call tracker (cti/service)
read the switch; when every call has ended the summary is what Hotline saw. ``--record-ami FILE``
keeps the AMI stream the simulator sent on a socket of its own, in the transcript format, for
``hotline replay FILE``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from cti.ami_link import AmiLinkConfig
from cti.bus import EventBus
from cti.events import CallAbandoned, CallAnswered, CallEnded, CallOffered, SwitchResynced
from cti.service import CtiService
from cti.simulator import AgentScript, Clock, DemoTraffic, RealClock, SwitchSimulator
from cti.tracker import WANTED as TRACKED_EVENTS
from cti.tracker import CallTracker

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
# After the simulator's last call ends, Hotline has this long to read the rest of the stream.
DRAIN_TIMEOUT_S = 10.0
# A recording past this size stops growing (a demo run is a few megabytes).
MAX_RECORDING_BYTES = 256 * 1024 * 1024


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run Hotline against the switch simulator with simulated callers and agents",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--calls", type=int, default=20, help="how many callers (default 20)")
    parser.add_argument("--rate", type=float, default=2.0, help="arrivals per second (default 2)")
    parser.add_argument("--agents", type=int, default=8, help="simulated agents in the queues (default 8)")
    parser.add_argument("--seed", type=int, default=1, help="random seed for callers and agents")
    parser.add_argument(
        "--agi-url", default="agi://127.0.0.1:4573/ivr", help="where the dialplan's AGI() connects"
    )
    parser.add_argument("--record-ami", metavar="FILE", help="write the simulator's AMI stream here")
    parser.set_defaults(run=run)


@dataclass(slots=True)
class HotlineView:
    """What Hotline's tracker reported, call by call."""

    offered: set[str] = field(default_factory=set)
    answered: dict[str, float] = field(default_factory=dict)
    abandoned: dict[str, float] = field(default_factory=dict)
    ended: set[str] = field(default_factory=set)
    resynced: asyncio.Event = field(default_factory=asyncio.Event)
    all_ended: asyncio.Event = field(default_factory=asyncio.Event)
    expected: int = 0

    def on_event(self, event: object) -> None:
        if isinstance(event, CallOffered):
            self.offered.add(event.call_id)
        elif isinstance(event, CallAnswered):
            self.answered.setdefault(event.call_id, event.wait_seconds)
        elif isinstance(event, CallAbandoned):
            self.abandoned[event.call_id] = event.wait_seconds
        elif isinstance(event, CallEnded):
            self.ended.add(event.call_id)
            if self.expected and len(self.ended) >= self.expected:
                self.all_ended.set()
        elif isinstance(event, SwitchResynced):
            self.resynced.set()

    def summary(self) -> list[str]:
        waits = [*self.answered.values(), *self.abandoned.values()]
        mean = sum(waits) / len(waits) if waits else 0.0
        return [
            f"offered:   {len(self.offered)}",
            f"answered:  {len(self.answered)}",
            f"abandoned: {len(self.abandoned)}",
            f"mean wait: {mean:.1f} s",
        ]


class AmiRecorder:
    """A logged-in AMI socket that keeps every byte the simulator writes to it."""

    def __init__(self, port: int, secret: str) -> None:
        self.port = port
        self.secret = secret
        self.data = bytearray()
        self._task: asyncio.Task[None] | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def start(self) -> None:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            reader, self._writer = await asyncio.open_connection("127.0.0.1", self.port)
        self._writer.write(
            f"Action: Login\r\nActionID: record-1\r\nUsername: hotline\r\nSecret: {self.secret}\r\n"
            "Events: on\r\n\r\n".encode()
        )
        self._task = asyncio.create_task(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while chunk := await reader.read(1 << 16):
            if len(self.data) + len(chunk) > MAX_RECORDING_BYTES:
                log.warning("demo_recording_full", extra={"kv": {"bytes": len(self.data)}})
                return
            self.data += chunk

    async def stop(self) -> None:
        if self._writer is not None:
            self._writer.write(b"Action: Logoff\r\nActionID: record-2\r\n\r\n")
        if self._task is not None:
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT_S):
                    await self._task
            except TimeoutError:
                self._task.cancel()
        if self._writer is not None:
            self._writer.close()


async def run_demo(
    *,
    calls: int,
    rate: float,
    agents: int,
    seed: int,
    agi_url: str,
    record_path: Path | None,
    out: TextIO,
    clock: Clock | None = None,
) -> HotlineView:
    rng = random.Random(seed)
    phones = [
        AgentScript(str(1001 + i), answer_after_s=round(rng.uniform(1.0, 3.0), 2)) for i in range(agents)
    ]
    secret = secrets.token_hex(16)
    sim = SwitchSimulator(
        clock=clock or RealClock(),
        agents=phones,
        agi_url=agi_url,
        secret=secret,
        seed=seed,
    )
    view = HotlineView(expected=calls)
    port = await sim.start()
    recorder = AmiRecorder(port, secret) if record_path is not None else None
    bus = EventBus()
    bus.listen(view.on_event)
    service = CtiService(
        AmiLinkConfig(host="127.0.0.1", port=port, secret=secret), bus, CallTracker(), wanted=TRACKED_EVENTS
    )
    try:
        if recorder is not None:
            await recorder.start()
        await service.start()
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            await view.resynced.wait()
        out.write(f"switch simulator on 127.0.0.1:{port}; {calls} callers at {rate}/s, {agents} agents\n")
        out.flush()
        traffic = DemoTraffic(sim, rate=rate, seed=seed, patience_s=(4.0, 15.0), stay_s=(12.0, 30.0))
        switch_view = await traffic.run(calls)
        try:
            async with asyncio.timeout(DRAIN_TIMEOUT_S):
                await view.all_ended.wait()
        except TimeoutError:
            log.warning("demo_calls_not_ended", extra={"kv": {"ended": len(view.ended), "calls": calls}})
        out.write("\n".join(["Hotline saw:", *("  " + line for line in view.summary())]) + "\n")
        out.write(
            f"(the simulator: {switch_view.answered} answered, {switch_view.abandoned} abandoned, "
            f"mean wait {switch_view.mean_wait_s:.1f} s)\n"
        )
    finally:
        await service.stop()
        if recorder is not None:
            await recorder.stop()
        await sim.stop()
    if recorder is not None and record_path is not None:
        await asyncio.to_thread(record_path.write_bytes, bytes(recorder.data))
        out.write(f"AMI stream written to {record_path} ({len(recorder.data)} bytes)\n")
    return view


def run(args: argparse.Namespace) -> int:
    if args.calls < 1 or args.rate <= 0 or args.agents < 1:
        print("hotline demo: --calls and --agents must be at least 1, --rate above 0", file=sys.stderr)
        return 2
    asyncio.run(
        run_demo(
            calls=args.calls,
            rate=args.rate,
            agents=args.agents,
            seed=args.seed,
            agi_url=args.agi_url,
            record_path=Path(args.record_ami) if args.record_ami else None,
            out=sys.stdout,
        )
    )
    return 0
