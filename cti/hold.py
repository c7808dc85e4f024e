"""Hold from the agent desktop: the dialplan contract and what the call tracker reads of it.

AMI has no Hold action, so the desktop's hold moves both legs out of their bridge with one
``Redirect`` (``ExtraChannel``): the caller to ``hotline-hold`` (music on hold, bounded), the
agent's leg to ``hotline-hold-agent`` (silence, bounded). Resume redirects the caller to
``hotline-resume``, whose ``Bridge()`` takes the agent's leg back. docs/hold.md gives the why;
asterisk-config/extensions.conf holds the contexts.

Handlers of the call tracker: ``entered`` for a ``Newexten`` in one of these contexts, ``left``
when the held caller runs other dialplan, ``bridge_enter`` (the resume) for every ``BridgeEnter``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cti.channels import Call, Channel, integer, moment
from cti.events import CallHeld, CallResumed, SwitchEvent, TransferKind
from cti.transfers import bridge_enter as _bridge_enter
from cti.transfers import transferred

if TYPE_CHECKING:
    from cti.tracker import AmiMessage, CallTracker

HOLD_CONTEXT = "hotline-hold"  # the caller: music on hold
HOLD_AGENT_CONTEXT = "hotline-hold-agent"  # the agent's leg: kept up, silent
RESUME_CONTEXT = "hotline-resume"  # the caller: Bridge() with the agent's leg again
DESK_CONTEXTS = frozenset({HOLD_CONTEXT, HOLD_AGENT_CONTEXT, RESUME_CONTEXT})

# Channel variables the contexts read: set by Hotline (Setvar) just before the Redirect.
HOLD_AGENT_VARIABLE = "HOTLINE_HOLD_AGENT"  # on the caller: the agent leg's channel name
HOLD_CALLER_VARIABLE = "HOTLINE_HOLD_CALLER"  # on the agent's leg: the caller's channel name
# Set by the contexts on the caller: "held" while it is in hotline-hold (then over / resumed).
HOLD_STATE_VARIABLE = "HOTLINE_HOLD_STATE"
HELD = "held"


def agent_leg_name(tracker: CallTracker, call: Call, fallback: Channel) -> str:
    leg = tracker.channels.get(call.agent_uniqueid)
    return leg.name if leg is not None else fallback.name


def entered(
    tracker: CallTracker, channel: Channel, message: AmiMessage, context: str, at: float
) -> list[SwitchEvent]:
    """A leg runs one of the hold contexts: the call is on desktop hold, not transferred."""
    call = channel.call
    is_caller = channel.uniqueid == call.primary
    if message.get("Extension") == "h" or not call.answered:
        return []  # h: the leg hangs up in the context, Hangup ends the call
    if context == RESUME_CONTEXT:
        # Still held until the Bridge() puts both legs together; if it fails and the caller
        # goes on to other dialplan, that is reported as for a Redirect (it left its agent).
        if is_caller:
            tracker.redirect_pending.add(channel.uniqueid)
        return []
    if is_caller:
        # Leaving hold for anything but hotline-resume means the agent is gone from the call.
        tracker.redirect_pending.add(channel.uniqueid)
    if call.desk_held:
        return []
    call.desk_held = agent_leg_name(tracker, call, channel)
    call.announced = True
    return [CallHeld(at=moment(at), call_id=call.call_id, channel=call.desk_held)]


def bridge_enter(tracker: CallTracker, message: AmiMessage) -> list[SwitchEvent]:
    """Every BridgeEnter; a leg of a call on desktop hold entering a bridge that now has both
    parties (Bridge() puts the agent's leg in first, then the caller) is the resume."""
    events = _bridge_enter(tracker, message)
    channel = tracker.channel_of(message)
    if channel is None or not channel.call.desk_held or integer(message.get("BridgeNumChannels")) < 2:
        return events
    call = channel.call
    resumed = CallResumed(at=moment(tracker.now(message)), call_id=call.call_id, channel=call.desk_held)
    call.desk_held = ""
    return [*events, resumed]


def left(tracker: CallTracker, channel: Channel, at: float, extension: str) -> list[SwitchEvent]:
    """The held caller runs other dialplan (the hold's limit, a failed resume): the hold is
    over (CallResumed closes it for whoever times holds) and the caller went back to the queue
    without its agent, which is reported as a blind transfer to that queue."""
    tracker.redirect_pending.discard(channel.uniqueid)
    call = channel.call
    events: list[SwitchEvent] = [CallResumed(at=moment(at), call_id=call.call_id, channel=call.desk_held)]
    call.desk_held = ""
    if not call.transfer_reported:
        events.extend(transferred(tracker, call, at, call.agent, call.queue or extension, TransferKind.BLIND))
    return events
