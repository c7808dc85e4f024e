"""Click-to-dial through AMI: the switch simulator rings agent 1001's phone, the agent answers, the
carrier is dialed; the ACD holds the agent as outbound from the click until the agent hangs up."""

from __future__ import annotations

import asyncio
import socket

from acd.models import AgentState
from agent_api.context import SERVICES
from cti.ami_link import AmiLinkConfig
from cti.events import CallEnded, SwitchResynced
from cti.service import CtiService
from cti.simulator import AgentScript, SwitchSimulator
from cti.tracker import CallTracker
from tests.agent_api.stack import CUSTOMER_NAME, CUSTOMER_PHONE, Stack, login, next_frame


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_click_to_dial_through_the_simulated_switch_is_outbound_then_wrap_up(stack: Stack):
    sim = SwitchSimulator(
        agents=[AgentScript("1001", answer_after_s=0.1)],
        agi_url=f"agi://127.0.0.1:{_closed_port()}/ivr",
        secret="s3cret",
    )
    port = await sim.start()
    resynced = stack.bus.subscribe("test-resync", SwitchResynced)
    ended = stack.bus.subscribe("test-ended", CallEnded)
    cti = CtiService(AmiLinkConfig(host="127.0.0.1", port=port, secret="s3cret"), stack.bus, CallTracker())
    try:
        await cti.start()
        async with asyncio.timeout(10):
            await resynced.get()
        stack.app[SERVICES].switch = cti.switch
        csrf = await login(stack.client, "agent1001")
        headers = {"X-CSRF-Token": csrf}
        await stack.client.post("/api/agent/login", json={}, headers=headers)
        ws = await stack.client.ws_connect("/api/ws")
        await next_frame(ws, "hello")

        dial = await stack.client.post("/api/agent/dial", json={"number": CUSTOMER_PHONE}, headers=headers)
        assert dial.status == 200, await dial.text()
        assert (await dial.json())["success"] is True
        pop = await next_frame(ws, "pop", within_s=10)
        assert pop["direction"] == "outbound" and pop["customer"]["name"] == CUSTOMER_NAME
        assert stack.acd.states.get("agent1001").state is AgentState.OUTBOUND

        # The agent hangs up from the page, as on any call of theirs.
        hangup = await stack.client.post(f"/api/agent/calls/{pop['call_id']}/hangup", headers=headers)
        assert hangup.status == 204, await hangup.text()
        assert (await next_frame(ws, "ended", within_s=10))["call_id"] == pop["call_id"]
        async with asyncio.timeout(10):
            while (await ended.get()).call_id != pop["call_id"]:
                pass
            state = await next_frame(ws, "state")
            while state["state"] == "outbound":
                state = await next_frame(ws, "state")
        assert state["state"] == "wrap-up"
        hello_again = await stack.client.ws_connect("/api/ws")
        assert (await next_frame(hello_again, "hello"))["pending"] == [pop["call_id"]]
        await hello_again.close()
        await ws.close()
    finally:
        await cti.stop()
        await sim.stop()
