"""Replay a production scenario (tests/simulator/production_capture.py) on the simulator's
production dialplan, on virtual time: a socket plays Hotline (logged in first, events off), and
a socket plays the capture's own, whose stream is what the test compares."""

from __future__ import annotations

import asyncio
import itertools

from cti.ami_protocol import AmiMessage, format_action
from cti.simulator import CallerScript, Dialplan, SwitchSimulator, VirtualClock
from cti.simulator.core import FALLBACK_SUFFIX
from tests.simulator.capture import CaptureClient, ScriptedAgiServer, SessionSpec, TimedAction, play_session
from tests.simulator.production_capture import ProductionScenario

# Each caller already waiting when the capture began dials in this long before the next one.
WAITING_GAP_S = 40.0
_ids = itertools.count(1)


def action(name: str, fields: dict[str, str], action_id: str = "", at: float = 0.0) -> TimedAction:
    action_id = action_id or f"hotline-{next(_ids)}"
    return TimedAction(at, format_action(name, action_id, fields).decode(), action_id, name)


async def replay_production(scenario: ProductionScenario) -> list[AmiMessage]:
    """What the capture's socket would have read from the simulator."""
    start = scenario.connect_at - 60.0 - WAITING_GAP_S * len(scenario.waiting)
    clock = VirtualClock(start=start - 1.0)
    ticking = asyncio.create_task(clock.run())
    agi = ScriptedAgiServer(scenario.agi)
    sim = SwitchSimulator(
        clock=clock,
        agents=scenario.agents.values(),
        agi_url=f"agi://127.0.0.1:{await agi.start()}/ivr",
        first_uniqueid=scenario.first_uniqueid,
        first_channel=scenario.first_channel,
        dialplan=Dialplan.HOTLINE,
    )
    sim.prompt_lengths.update(scenario.prompts)
    port = await sim.start()
    try:
        hotline = await _hotline_logs_in(sim, clock, port, scenario)
        tasks = [
            asyncio.create_task(play_session(clock, port, _capture_session(scenario))),
            asyncio.create_task(_people(sim, clock, scenario)),
            asyncio.create_task(_hotline(sim, hotline, clock, scenario, start)),
        ]
        client, *_ = await asyncio.gather(*tasks)
        await hotline.send(action("Logoff", {}))
        await hotline.close()
        return client.messages
    finally:
        await sim.stop()
        await agi.stop()
        ticking.cancel()


async def _hotline_logs_in(
    sim: SwitchSimulator, clock: VirtualClock, port: int, scenario: ProductionScenario
) -> CaptureClient:
    """Hotline's socket, before anything else: the queue members as the captured server had
    them (paused or not, their calls taken), which no event of the capture shows being set."""
    hotline = CaptureClient(clock)
    with clock.busy():
        await hotline.connect(port)
        async with asyncio.timeout(5):
            await hotline.banner.wait()
    await hotline.send(action("Login", {"Username": "hotline", "Secret": "hotline-secret", "Events": "off"}))
    for interface, (paused, reason, calls) in scenario.members.items():
        fields = {"Interface": interface, "Paused": "true" if paused else "false"}
        await hotline.send(action("QueuePause", fields | ({"Reason": reason} if reason else {})))
        for queue in sim.queues.values():
            if interface in queue.members:
                queue.members[interface].calls_taken = calls
    return hotline


def _capture_session(scenario: ProductionScenario) -> SessionSpec:
    # The capture's own actions carry no ActionID but those its responses show.
    actions = [
        TimedAction(0.0, "Action: Login\r\nUsername: hotline\r\nSecret: hotline-secret\r\n\r\n", "", "Login")
    ]
    for at, name, fields, action_id in scenario.own_actions:
        actions.append(action(name, fields, action_id, at - scenario.connect_at))
    if scenario.logs_off:
        actions.append(
            TimedAction(scenario.end_at - scenario.connect_at, "Action: Logoff\r\n\r\n", "", "Logoff")
        )
    session = SessionSpec("capture", scenario.messages, actions, connected_at=scenario.connect_at)
    session.drop_at = None if scenario.logs_off else scenario.end_at
    return session


async def _people(sim: SwitchSimulator, clock: VirtualClock, scenario: ProductionScenario) -> None:
    """Callers dial in, phones register and go away, at the capture's moments."""
    moments: list[tuple[float, CallerScript | tuple[str, bool]]] = list(scenario.callers)
    moments += [(at, (extension, registers)) for at, extension, registers in scenario.registrations]
    for at, what in sorted(moments, key=lambda m: m[0]):
        await clock.sleep_until(at)
        if isinstance(what, CallerScript):
            sim.place_call(what)
        elif what[1]:
            sim.register_phone(what[0])
        else:
            sim.unregister_phone(what[0])


async def _hotline(
    sim: SwitchSimulator,
    hotline: CaptureClient,
    clock: VirtualClock,
    scenario: ProductionScenario,
    start: float,
) -> None:
    """Hotline's socket. First the callers already waiting when the capture began: each dials in
    and, to wait in a -fallback queue, is withdrawn from its waiting queue (as 19's caller is).
    Then the capture's actions at their moments."""
    for index, queue in enumerate(scenario.waiting):
        await clock.sleep_until(start + WAITING_GAP_S * index)
        sim.place_call(CallerScript(caller=f"1380013{index:04d}", digits=""))
        await clock.sleep(WAITING_GAP_S / 2)
        if queue.endswith(FALLBACK_SUFFIX):
            caller = f"PJSIP/trunk-{scenario.first_channel + index:08x}"
            fields = {"Queue": queue.removesuffix(FALLBACK_SUFFIX), "Caller": caller}
            await hotline.send(action("QueueWithdrawCaller", fields))
    for at, name, fields, _ in scenario.hotline_actions:
        await clock.sleep_until(at)
        await hotline.send(action(name, fields))
