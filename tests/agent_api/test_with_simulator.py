"""End to end through AMI: the switch simulator rings agent 1001 for a known customer; Hotline's
AMI link and call tracker publish the events; the agent's socket gets the pop, then the end."""

from __future__ import annotations

import asyncio
import socket

from cti.ami_link import AmiLinkConfig
from cti.events import SwitchResynced
from cti.service import CtiService
from cti.simulator import AgentScript, CallerScript, SwitchSimulator
from cti.tracker import CallTracker
from tests.agent_api.stack import CUSTOMER_NAME, CUSTOMER_PHONE, Stack, login, next_frame


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_call_rung_by_the_simulated_switch_pops_on_the_agents_socket_and_ends(stack: Stack):
    # No IVR server at agi_url: AGI fails and the production dialplan sends the caller to
    # support-fallback, where app_queue rings its static member, like Asterisk does.
    sim = SwitchSimulator(
        agents=[AgentScript("1001", answer_after_s=0.2, hangup_after_s=0.3)],
        members={"support": ["PJSIP/1001"]},
        agi_url=f"agi://127.0.0.1:{_closed_port()}/ivr",
        secret="s3cret",
    )
    port = await sim.start()
    resynced = stack.bus.subscribe("test", SwitchResynced)
    cti = CtiService(AmiLinkConfig(host="127.0.0.1", port=port, secret="s3cret"), stack.bus, CallTracker())
    try:
        await cti.start()
        async with asyncio.timeout(10):
            await resynced.get()
        await login(stack.client, "agent1001")
        ws = await stack.client.ws_connect("/api/ws")
        await next_frame(ws, "hello")
        record = sim.place_call(CallerScript(caller=CUSTOMER_PHONE, caller_name="", digits=""))
        pop = await next_frame(ws, "pop", within_s=10)
        assert pop["customer"]["name"] == CUSTOMER_NAME
        assert pop["queue"] == "support-fallback"
        ended = await next_frame(ws, "ended", within_s=10)
        assert ended["call_id"] == pop["call_id"]
        async with asyncio.timeout(10):
            await record.done
        assert record.answered
        await ws.close()
    finally:
        await cti.stop()
        await sim.stop()
