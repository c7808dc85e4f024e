"""Whole calls through the whole system: switch simulator → IVR → queue → router → agent.

Done when a call goes IVR (menu with DTMF, a lookup) → queue → router → agent rings → answer →
wrap-up → available. Every wait is on a domain event from Hotline's bus, bounded by a timeout.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from acd.events import AgentStateChanged
from acd.models import AgentState
from crm.customers import NewCustomer, create_customer
from crm.kinds import TicketKind
from crm.reporting.queue_log import compare_with_legs, parse_queue_log
from crm.reporting.tables import QueueLegRow
from crm.tickets import NewTicket
from cti.events import CallAnswered, CallEnded, CallQueued, CallRinging, SwitchResynced
from cti.simulator import CallerScript
from hotline.app import Hotline
from ivr.events import IvrCompleted, IvrOutcome
from tests.e2e.system import running_system


async def until_leg_written(hotline: Hotline, call_id: str, within_s: float = 10.0) -> None:
    async with asyncio.timeout(within_s):
        while True:
            async with hotline.db.read() as session:
                if await session.scalar(select(QueueLegRow).where(QueueLegRow.call_id == call_id)):
                    return
            await asyncio.sleep(0.1)


KINDS = (SwitchResynced, IvrCompleted, CallQueued, CallRinging, CallAnswered, CallEnded, AgentStateChanged)
CUSTOMER = "13800131001"
VIP = "13900139009"


async def test_a_call_goes_through_menu_and_lookup_to_an_agent_and_the_agent_is_available_again(
    tmp_path: Path,
) -> None:
    async with running_system(tmp_path, KINDS) as system:
        hotline, watch = system.hotline, system.watch
        await watch.until(SwitchResynced)
        customer = await create_customer(hotline.db, NewCustomer("Li Lei", phones=[CUSTOMER]))
        ticket = await hotline.crm.open_ticket(
            NewTicket(customer, TicketKind.SERVICE_REQUEST, "Router keeps rebooting", opened_by="test")
        )
        await hotline.acd.login("agent1001")
        await watch.until(AgentStateChanged, lambda e: e.state is AgentState.AVAILABLE)

        digits = ticket.number.removeprefix("T")
        record = system.sim.place_call(
            CallerScript(caller=CUSTOMER, presses=((0.4, "1"), (0.8, digits)), hangup_after_s=None)
        )

        ivr = await watch.until(IvrCompleted)
        assert ivr.outcome is IvrOutcome.QUEUED
        assert ivr.customer_id == str(customer)
        steps = [(entry.node, entry.digits, entry.result) for entry in ivr.path]
        assert any(node == "main" and pressed == "1" for node, pressed, _ in steps)
        assert ("ticket_lookup", digits, "open") in steps
        assert steps[-1][0] == "support_queue" and ivr.queue == "support"
        call_id = ivr.call_id

        queued = await watch.until(CallQueued, lambda e: e.call_id == call_id)
        assert queued.queue == "support"
        ringing = await watch.until(CallRinging, lambda e: e.call_id == call_id)
        assert ringing.agent == "PJSIP/1001"
        answered = await watch.until(CallAnswered, lambda e: e.call_id == call_id)
        assert answered.agent == "PJSIP/1001"
        await watch.until(CallEnded, lambda e: e.call_id == call_id)
        # queue_log: the delivered call reads as connected and completed, not abandoned, and
        # agrees with the queue leg Hotline recorded.
        async with asyncio.timeout(10):
            while not any("COMPLETECALLER" in line for line in system.sim.queue_log):  # noqa: ASYNC110
                await asyncio.sleep(0.05)  # the writer's own task sends it
        lines = [line.split("|") for line in system.sim.queue_log if f"|{call_id}|" in line]
        assert [(queue, event) for _, _, queue, _, event, *_ in lines] == [
            ("support", "CONNECT"),
            ("support", "COMPLETECALLER"),
        ]
        assert lines[0][3] == "PJSIP/1001" and abs(int(lines[0][5]) - answered.wait_seconds) <= 1
        entered = f"{int(queued.at.timestamp())}|{call_id}|support|NONE|ENTERQUEUE||{CUSTOMER}|1"
        calls, problems = parse_queue_log([entered, *system.sim.queue_log])
        assert problems == [] and [(c.call_id, c.outcome) for c in calls] == [(call_id, "answered")]
        await watch.until(
            AgentStateChanged, lambda e: e.state is AgentState.AVAILABLE and e.previous is AgentState.WRAP_UP
        )
        await until_leg_written(hotline, call_id)
        assert await compare_with_legs(hotline.db, calls) == []

        states = [
            (e.previous, e.state) for e in watch.all(AgentStateChanged, lambda e: e.agent == "agent1001")
        ]
        assert states[-4:] == [
            (AgentState.AVAILABLE, AgentState.RINGING),
            (AgentState.RINGING, AgentState.ON_CALL),
            (AgentState.ON_CALL, AgentState.WRAP_UP),
            (AgentState.WRAP_UP, AgentState.AVAILABLE),
        ]
        await record.done
        assert record.answered and record.agent == "1001"


async def test_with_the_ivr_down_a_call_still_reaches_an_agent_through_the_fallback_queue(
    tmp_path: Path,
) -> None:
    async with running_system(tmp_path, KINDS, ivr_reachable=False) as system:
        hotline, watch = system.hotline, system.watch
        await watch.until(SwitchResynced)
        await hotline.acd.login("agent1001")
        await watch.until(AgentStateChanged, lambda e: e.state is AgentState.AVAILABLE)

        record = system.sim.place_call(CallerScript(caller=CUSTOMER, digits=""))

        queued = await watch.until(CallQueued)
        assert queued.queue == "support-fallback"
        ringing = await watch.until(CallRinging, lambda e: e.call_id == queued.call_id)
        assert ringing.agent == "PJSIP/1001"
        await watch.until(CallAnswered, lambda e: e.call_id == queued.call_id)
        await watch.until(CallEnded, lambda e: e.call_id == queued.call_id)
        await record.done
        assert record.agi_status == "FAILURE"
        assert record.answered and record.agent == "1001"
        assert not watch.all(IvrCompleted)


async def test_a_vip_caller_is_answered_before_an_earlier_caller_when_one_agent_is_free(
    tmp_path: Path,
) -> None:
    async with running_system(tmp_path, KINDS) as system:
        hotline, watch = system.hotline, system.watch
        await watch.until(SwitchResynced)
        await create_customer(hotline.db, NewCustomer("Han Meimei", phones=[VIP], vip_level=2))

        # Nobody is logged in yet: the normal caller waits, then the VIP caller joins behind them.
        system.sim.place_call(CallerScript(caller=CUSTOMER, presses=((0.3, "0"),)))
        normal = await watch.until(IvrCompleted, lambda e: e.caller == CUSTOMER)
        await watch.until(CallQueued, lambda e: e.call_id == normal.call_id)
        system.sim.place_call(CallerScript(caller=VIP, digits=""))
        vip = await watch.until(IvrCompleted, lambda e: e.caller == VIP)
        assert vip.queue == "vip" and [entry.node for entry in vip.path][-1] == "vip_queue"
        await watch.until(CallQueued, lambda e: e.call_id == vip.call_id)

        await hotline.acd.login("agent1001")

        first = await watch.until(CallRinging)
        assert first.call_id == vip.call_id
        answered = await watch.until(CallAnswered)
        assert answered.call_id == vip.call_id
        # Then, after the VIP call and its wrap-up, the earlier caller.
        later = await watch.until(CallAnswered, lambda e: e.call_id == normal.call_id)
        assert later.agent == "PJSIP/1001"
