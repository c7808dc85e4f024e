"""Dial(PJSIP/<ext>,<ring>,tm) as app_dial runs it in the production dialplan (hotline-deliver,
hotline-transfer, the fallback's last stage), as captures 16 and 17 show it: the dial variables
reset, the agent's leg with its endpoint's caller ID (asterisk-config/pjsip.conf: "Agent 1001"
<1001>), music on hold for the caller while it rings (m), RINGTIME, on answer DIALSTATUS /
DIALEDPEERNAME / DIALEDPEERNUMBER before DialEnd, the bridge, and when the bridge ends
ANSWEREDTIME / DIALEDTIME and DIALSTATUS. The captures' dialplan keeps app_queue.dial_and_bridge.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cti.simulator.bridge import bridged
from cti.simulator.legs import Leg, ring_phone
from cti.simulator.originate import DIAL_VARS

if TYPE_CHECKING:
    from cti.simulator.channels import Channel
    from cti.simulator.core import CallRecord, SwitchSimulator

# How the agent's leg ends when nobody talked (app_dial's hanguptree): not answered in time,
# the caller gone or moved, the phone refused.
_UNANSWERED_CAUSE = {"NOANSWER": 16, "CANCEL": 0, "BUSY": 17}


async def dial(
    sim: SwitchSimulator,
    leg: Leg,
    record: CallRecord,
    extension: str,
    ring_s: float,
    *,
    caller_h: bool = False,
) -> str:
    """Returns completed, noanswer, abandoned, redirect or agent_hangup (as dial_and_bridge);
    with ``caller_h``, caller_hangup for a caller who hung up on the agent (bridge.bridged)."""
    caller = leg.channel
    for name in DIAL_VARS:
        sim.varset(caller, name, "")
    phone = sim.phones.get(extension)
    answer_after = phone.answer_after_s if phone is not None and phone.reachable else None
    agent = sim.new_channel(
        f"PJSIP/{extension}",
        context="agents",
        exten="s",
        linkedid=caller.linkedid,
        caller_num=extension,
        caller_name=phone.member_name if phone is not None else extension,
    )
    sim.varset(agent, "DIALEDPEERNUMBER", extension)
    agent.exten = extension
    agent.connected_num, agent.connected_name = caller.caller_num, caller.caller_name
    sim.newexten(agent, 1, "AppDial", "(Outgoing Line)")
    sim.channel_event("NewConnectedLine", agent)
    sim.pair_event("DialBegin", caller, agent, [("DialString", extension)], "call,all")
    sim.channel_event("MusicOnHoldStart", caller, [("Class", "default")])
    sim.newstate(agent, 5)
    sim.refresh_endpoint(agent.device)
    sim.update_member_status(agent.device)
    caller.connected_num, caller.connected_name = agent.caller_num, agent.caller_name
    sim.channel_event("NewConnectedLine", caller)
    # The phone rings at once (the captured SIPp phones, 16 and 17: RINGTIME 0).
    sim.varset(caller, "RINGTIME", "0")
    sim.varset(caller, "RINGTIME_MS", "0")
    sim.pair_event("DialState", caller, agent, [("DialStatus", "RINGING")], "call,all")
    outcome = await ring_phone(sim, leg, agent, ring_s, answer_after)
    if outcome != "answered":
        return _unanswered(sim, leg, agent, "BUSY" if outcome == "busy" else "NOANSWER")
    sim.newstate(agent, 6)
    sim.refresh_endpoint(agent.device)
    sim.update_member_status(agent.device)
    sim.varset(caller, "DIALSTATUS", "ANSWER")
    sim.varset(caller, "DIALEDPEERNAME", agent.name)
    sim.varset(caller, "DIALEDPEERNUMBER", extension)
    agent.exten = ""
    sim.pair_event("DialEnd", caller, agent, [("DialStatus", "ANSWER")], "call,all")
    sim.channel_event("MusicOnHoldStop", caller)
    record.answered = sim.clock.time()
    record.agent = extension
    sim.newexten(agent, 1, "AppDial", "(Outgoing Line)")

    def results(reason: str) -> None:
        # end_bridge_callback sets the durations when the bridge ends, not when a Redirect
        # takes the caller out of it (17: only DIALSTATUS).
        if reason != "redirect":
            # ANSWEREDTIME is the caller's time since its own answer: from-trunk answers first.
            now = sim.clock.time()
            up = dialed = now - caller.created
            for name, value in (
                ("ANSWEREDTIME", str(int(up))),
                ("ANSWEREDTIME_MS", str(int(up * 1000))),
                ("DIALEDTIME", str(int(dialed))),
                ("DIALEDTIME_MS", str(int(dialed * 1000))),
            ):
                sim.varset(caller, name, value)
        sim.varset(caller, "DIALSTATUS", "ANSWER")

    return await bridged(sim, leg, agent, record, None, on_leave=results, caller_h=caller_h)


def _unanswered(sim: SwitchSimulator, leg: Leg, agent: Channel, refused: str) -> str:
    caller = leg.channel
    status = "CANCEL" if leg.gone.done() or leg.redirect.done() else refused
    sim.pair_event("DialEnd", caller, agent, [("DialStatus", status)], "call,all")
    sim.channel_event("MusicOnHoldStop", caller)
    sim.hangup_channel(agent, _UNANSWERED_CAUSE[status])
    sim.refresh_endpoint(agent.device)
    sim.update_member_status(agent.device)
    sim.varset(caller, "DIALSTATUS", status)
    if leg.gone.done():
        return "abandoned"
    return "redirect" if leg.redirect.done() else "noanswer"
