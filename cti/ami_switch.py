"""The ``Switch`` protocol carried as AMI actions over an ``AmiLink``.

Each method sends one action and returns once Asterisk has answered; ``Response: Error`` becomes
``AmiActionFailed`` with Asterisk's message, no answer in time ``AmiTimeout``, a link that is down
``SwitchUnavailable``. A value with a line break is refused before anything is sent
(``ActionFieldError``).

A ``request_id`` makes a request idempotent: the first call with an id sends the action, every
later call with the same id — even while the first is still waiting — gets the first outcome
(its result or its error) and sends nothing. Only a request that never reached Asterisk (the link
was down, a bad value) is forgotten, so that it can be tried again.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol, TypeVar

from cti.action_results import ActionResult
from cti.ami_protocol import ActionFieldError, first
from cti.errors import AmiActionFailed, SwitchUnavailable
from cti.hold import (
    HOLD_AGENT_CONTEXT,
    HOLD_AGENT_VARIABLE,
    HOLD_CALLER_VARIABLE,
    HOLD_CONTEXT,
    RESUME_CONTEXT,
)
from cti.switch import OriginateResult, SpyMode

T = TypeVar("T")

# How many request ids are remembered; the oldest settled ones are forgotten first. A retry
# comes within seconds of its original, so this covers hours of a busy center's requests.
REMEMBERED_REQUESTS = 10_000

# The dialplan contexts Hotline's actions rely on (asterisk-config/extensions.conf).
SPY_CONTEXT = "spy"
PLAY_CONTEXT = "hotline-play"
CONSULT_CONTEXT = "hotline-consult"
# features.conf's atxfercomplete and atxferthreeway (atxferabort is CancelAtxfer's to read).
CONSULT_COMPLETE_KEYS = "*7"
CONSULT_THREEWAY_KEYS = "*8"
SPY_OPTIONS = {SpyMode.LISTEN: "q", SpyMode.WHISPER: "qw", SpyMode.BARGE: "qB"}

# Sync Originate blocks until the channel answers or gives up, and async Originate reports
# then; either way Asterisk needs the dial timeout plus this margin to tell us.
ORIGINATE_MARGIN_S = 5.0


class ActionSender(Protocol):
    """What ``AmiSwitch`` needs of the link (``cti.ami_link.AmiLink``)."""

    async def send_action(
        self,
        action: str,
        fields: Mapping[str, object] | None = None,
        *,
        timeout_s: float | None = None,
        completion_event: str = "",
        blocks_session: bool = False,
    ) -> ActionResult: ...


DTMF_MS = 250  # a keypad press's tone length, long enough for any IVR to read


class AmiSwitch:
    def __init__(
        self,
        link: ActionSender,
        *,
        remembered_requests: int = REMEMBERED_REQUESTS,
        originate_margin_s: float = ORIGINATE_MARGIN_S,
    ) -> None:
        self._link = link
        self._originate_margin_s = originate_margin_s
        self._outcomes: OrderedDict[str, asyncio.Future[object]] = OrderedDict()
        self._remembered = remembered_requests

    # --- calls -----------------------------------------------------------------------------

    async def originate(
        self,
        *,
        channel: str,
        context: str,
        exten: str,
        priority: int = 1,
        caller_id: str = "",
        variables: Mapping[str, str] | None = None,
        timeout_s: float = 30.0,
        request_id: str | None = None,
        asynchronous: bool = True,
    ) -> OriginateResult:
        """Dial ``channel`` and, once it answers, run ``context,exten,priority`` (click-to-dial).

        Async (the default): Asterisk queues the call at once and reports it with an
        ``OriginateResponse`` event; the result says whether the channel answered, and if not,
        Asterisk's ``Reason`` code. Sync: Asterisk answers only when the channel answered
        (success) or failed (``AmiActionFailed`` "Originate failed"; it gives no reason code),
        and answers nothing else on the connection meanwhile — prefer async.
        """
        fields: dict[str, object] = {
            "Channel": channel,
            "Context": context,
            "Exten": exten,
            "Priority": priority,
            "CallerID": caller_id or None,
            "Timeout": int(timeout_s * 1000),
            "Async": asynchronous,
            "Variable": [f"{key}={value}" for key, value in (variables or {}).items()] or None,
        }

        async def send() -> OriginateResult:
            result = await self._link.send_action(
                "Originate",
                fields,
                timeout_s=timeout_s + self._originate_margin_s,
                completion_event="OriginateResponse" if asynchronous else "",
                blocks_session=not asynchronous,
            )
            outcome = result.completion
            if outcome is None:
                return OriginateResult(action_id=result.action_id, success=True)
            return OriginateResult(
                action_id=result.action_id,
                success=first(outcome, "Response") == "Success",
                channel=first(outcome, "Channel"),
                reason=first(outcome, "Reason"),
            )

        return await self._once(request_id, send)

    async def redirect(
        self,
        channel: str,
        *,
        context: str,
        exten: str,
        priority: int = 1,
        extra_channel: str = "",
        request_id: str | None = None,
    ) -> None:
        """Send ``channel`` (and ``extra_channel``, e.g. the other leg) to a dialplan place.

        This is how the router delivers a waiting caller (docs/routing.md): the caller's
        channel goes to ``hotline-deliver``, extension = the agent's extension.
        """
        fields: dict[str, object] = {
            "Channel": channel,
            "Context": context,
            "Exten": exten,
            "Priority": priority,
        }
        if extra_channel:
            fields |= {"ExtraChannel": extra_channel, "ExtraContext": context, "ExtraExten": exten}
            fields["ExtraPriority"] = priority
        await self._action(request_id, "Redirect", fields)

    async def hangup(self, channel: str, *, cause: int = 16, request_id: str | None = None) -> None:
        await self._action(request_id, "Hangup", {"Channel": channel, "Cause": cause})

    async def hold(self, caller_channel: str, agent_channel: str, *, request_id: str | None = None) -> None:
        """Desktop hold (docs/hold.md): each leg is told the other's name, then one Redirect
        takes both out of their bridge — the caller to music on hold in ``hotline-hold``, the
        agent's leg to silence in ``hotline-hold-agent``. A hang-up of either while held ends
        the other (the contexts' ``h`` extensions); the caller's recording goes on."""
        redirect = {
            "Channel": caller_channel,
            "Context": HOLD_CONTEXT,
            "Exten": "s",
            "Priority": 1,
            "ExtraChannel": agent_channel,
            "ExtraContext": HOLD_AGENT_CONTEXT,
            "ExtraExten": "s",
            "ExtraPriority": 1,
        }

        async def send() -> None:
            await self._link.send_action(
                "Setvar", {"Channel": caller_channel, "Variable": HOLD_AGENT_VARIABLE, "Value": agent_channel}
            )
            await self._link.send_action(
                "Setvar",
                {"Channel": agent_channel, "Variable": HOLD_CALLER_VARIABLE, "Value": caller_channel},
            )
            await self._link.send_action("Redirect", redirect)

        await self._once(request_id, send)

    async def resume(self, caller_channel: str, agent_channel: str, *, request_id: str | None = None) -> None:
        """End a desktop hold: the caller goes to ``hotline-resume``, whose ``Bridge()`` takes
        the agent's leg (named again, in case it changed) out of its silence and joins them."""

        async def send() -> None:
            await self._link.send_action(
                "Setvar", {"Channel": caller_channel, "Variable": HOLD_AGENT_VARIABLE, "Value": agent_channel}
            )
            await self._link.send_action(
                "Redirect",
                {"Channel": caller_channel, "Context": RESUME_CONTEXT, "Exten": "s", "Priority": 1},
            )

        await self._once(request_id, send)

    # --- consult (attended) transfer: docs/transfers.md ---------------------------------------

    async def consult(self, agent_channel: str, extension: str, *, request_id: str | None = None) -> None:
        """AMI ``Atxfer``: Asterisk feeds the agent's leg its attended-transfer feature code and
        the extension, as if the agent had pressed them; the bridge puts the caller on music on
        hold and dials ``extension`` in ``hotline-consult`` (agents and supervisors only)."""
        fields = {"Channel": agent_channel, "Exten": extension, "Context": CONSULT_CONTEXT}
        await self._action(request_id, "Atxfer", fields)

    async def consult_complete(self, agent_channel: str, *, request_id: str | None = None) -> None:
        await self._feature_keys(agent_channel, CONSULT_COMPLETE_KEYS, request_id)

    async def consult_cancel(self, agent_channel: str, *, request_id: str | None = None) -> None:
        """AMI ``CancelAtxfer``: the atxferabort keys, fed to the agent's leg."""
        await self._action(request_id, "CancelAtxfer", {"Channel": agent_channel})

    async def consult_conference(self, agent_channel: str, *, request_id: str | None = None) -> None:
        await self._feature_keys(agent_channel, CONSULT_THREEWAY_KEYS, request_id)

    async def _feature_keys(self, channel: str, keys: str, request_id: str | None) -> None:
        """Keys as if the agent's phone had sent them (``PlayDTMF`` with ``Receive``): the
        bridge's attended-transfer hooks read them. AMI has no action for these two."""

        async def send() -> None:
            for key in keys:
                await self._link.send_action(
                    "PlayDTMF", {"Channel": channel, "Digit": key, "Duration": DTMF_MS, "Receive": True}
                )

        await self._once(request_id, send)

    # --- queue members ---------------------------------------------------------------------

    async def queue_add(
        self,
        queue: str,
        interface: str,
        *,
        member_name: str = "",
        penalty: int = 0,
        paused: bool = False,
        reason: str = "",
        state_interface: str = "",
        request_id: str | None = None,
    ) -> None:
        fields = {
            "Queue": queue,
            "Interface": interface,
            "MemberName": member_name or None,
            "StateInterface": state_interface or None,
            "Penalty": penalty,
            "Paused": paused if paused else None,
            "Reason": reason if paused and reason else None,
        }
        await self._action(request_id, "QueueAdd", fields)

    async def queue_remove(self, queue: str, interface: str, *, request_id: str | None = None) -> None:
        await self._action(request_id, "QueueRemove", {"Queue": queue, "Interface": interface})

    async def queue_pause(
        self,
        interface: str,
        *,
        paused: bool,
        queue: str = "",
        reason: str = "",
        request_id: str | None = None,
    ) -> None:
        """Pause (with a reason: lunch, training, missed…) or unpause; on every queue unless
        ``queue`` names one."""
        fields = {"Queue": queue or None, "Interface": interface, "Paused": paused, "Reason": reason or None}
        await self._action(request_id, "QueuePause", fields)

    # --- recording -------------------------------------------------------------------------

    async def mixmonitor_start(
        self, channel: str, *, file: str, options: str = "", request_id: str | None = None
    ) -> None:
        await self._action(
            request_id, "MixMonitor", {"Channel": channel, "File": file, "Options": options or None}
        )

    async def mixmonitor_stop(self, channel: str, *, request_id: str | None = None) -> None:
        await self._action(request_id, "StopMixMonitor", {"Channel": channel})

    async def mixmonitor_mute(
        self, channel: str, *, mute: bool, direction: str = "both", request_id: str | None = None
    ) -> None:
        """Mute the recording of ``channel`` — ``read`` (what its party says), ``write`` (what
        its party hears) or ``both`` — e.g. while a caller reads card data out."""
        fields = {"Channel": channel, "Direction": direction, "State": 1 if mute else 0}
        await self._action(request_id, "MixMonitorMute", fields)

    async def send_dtmf(self, channel: str, digit: str, *, request_id: str | None = None) -> None:
        """One DTMF digit (0-9, *, #, A-D) played to the party of ``channel``, as the agent's
        phone keypad would: AMI ``PlayDTMF`` with a 250 ms tone."""
        fields = {"Channel": channel, "Digit": digit, "Duration": DTMF_MS}
        await self._action(request_id, "PlayDTMF", fields)

    async def mute(self, channel: str, on: bool, *, request_id: str | None = None) -> None:
        """Mute (or unmute) what ``channel``'s phone sends into the switch — the agent's
        microphone on the agent's leg: the other party stops hearing them, they still hear the
        other party. ``Setvar`` of res_mutestream's ``MUTEAUDIO(in)``: its AMI action
        ``MuteAudio`` needs the ``system`` write class, which also loads and unloads modules;
        Hotline's AMI user does not have it (the real switch answers "Permission denied")."""
        fields = {"Channel": channel, "Variable": "MUTEAUDIO(in)", "Value": "on" if on else "off"}
        await self._action(request_id, "Setvar", fields)

    # --- channel variables -----------------------------------------------------------------

    async def get_var(self, channel: str, name: str) -> str:
        """The variable's value on ``channel`` (a global one when ``channel`` is empty); empty
        when it is not set."""
        result = await self._link.send_action("Getvar", {"Channel": channel or None, "Variable": name})
        return result.value("Value")

    async def set_var(self, channel: str, name: str, value: str, *, request_id: str | None = None) -> None:
        fields = {"Channel": channel or None, "Variable": name, "Value": value}
        await self._action(request_id, "Setvar", fields)

    # --- supervisor tools and prompts ------------------------------------------------------

    async def spy(
        self, supervisor: str, agent_extension: str, mode: SpyMode, *, request_id: str | None = None
    ) -> OriginateResult:
        """Ring the supervisor's phone (``supervisor`` is its interface, e.g. ``PJSIP/2001``);
        once answered it runs ChanSpy on the agent's channel in the ``spy`` context with
        ``SPY_OPTS`` q (listen), qw (whisper) or qB (barge)."""
        return await self.originate(
            channel=supervisor,
            context=SPY_CONTEXT,
            exten=agent_extension,
            variables={"SPY_OPTS": SPY_OPTIONS[mode]},
            request_id=request_id,
        )

    async def play(self, channel: str, prompt: str, *, request_id: str | None = None) -> None:
        """Play ``prompt`` (a sound file name, as Playback takes it) into ``channel`` without
        taking it out of its bridge or queue.

        Mechanism: an async Originate of ``Local/s@hotline-play/n`` whose dialplan half plays
        ``${PROMPT}`` and hangs up, while its other half runs ``ChanSpy(channel,qwES)`` — it
        whispers into exactly that channel (the full channel name is a prefix matching only
        itself), stays silent otherwise (q), and leaves when the prompt ends or the channel
        hangs up (E, S). Only ``channel`` hears the prompt; the other party does not.
        Alternatives refused: Redirect to a playback context (takes the caller out of its
        bridge or queue position), AGI (only on a channel already running AsyncAGI).
        Returns once Asterisk reports the prompt channel up; raises ``AmiActionFailed`` when
        Asterisk refuses the Originate.
        """
        fields: dict[str, object] = {
            "Channel": f"Local/s@{PLAY_CONTEXT}/n",
            "Application": "ChanSpy",
            "Data": f"{channel},qwES",
            "Async": True,
            "Variable": f"PROMPT={prompt}",
        }

        async def send() -> None:
            result = await self._link.send_action(
                "Originate",
                fields,
                timeout_s=self._originate_margin_s * 2,
                completion_event="OriginateResponse",
            )
            outcome = result.completion
            if outcome is not None and first(outcome, "Response") != "Success":
                reason = first(outcome, "Reason")
                raise AmiActionFailed(
                    "Originate", f"prompt channel failed (Reason {reason})", result.action_id
                )

        await self._once(request_id, send)

    async def queue_log(
        self, queue: str, call_id: str, event: str, *, agent: str = "", message: str = ""
    ) -> None:
        """Write one queue_log line (app_queue's ``QueueLog`` action): ``call_id|queue|agent|
        event|message``, ``message`` holding the data fields joined by ``|``."""
        fields = {"Queue": queue, "Event": event, "UniqueId": call_id, "Interface": agent, "Message": message}
        await self._action(None, "QueueLog", fields)

    # --- plumbing --------------------------------------------------------------------------

    async def _action(self, request_id: str | None, action: str, fields: Mapping[str, object]) -> None:
        async def send() -> None:
            await self._link.send_action(action, fields)

        await self._once(request_id, send)

    async def _once(self, request_id: str | None, send: Callable[[], Awaitable[T]]) -> T:
        if request_id is None:
            return await send()
        earlier = self._outcomes.get(request_id)
        if earlier is not None:
            return await asyncio.shield(earlier)  # type: ignore[return-value]
        outcome: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._outcomes[request_id] = outcome
        self._forget_oldest()
        try:
            result = await send()
        except (SwitchUnavailable, ActionFieldError) as exc:
            if not (isinstance(exc, SwitchUnavailable) and exc.sent):
                del self._outcomes[request_id]  # never reached Asterisk: may be tried again
            _settle_error(outcome, exc)
            raise
        except asyncio.CancelledError:
            self._outcomes.pop(request_id, None)
            outcome.cancel()
            raise
        except Exception as exc:
            _settle_error(outcome, exc)
            raise
        outcome.set_result(result)
        return result

    def _forget_oldest(self) -> None:
        while len(self._outcomes) > self._remembered:
            oldest_id, oldest = next(iter(self._outcomes.items()))
            if not oldest.done():
                return
            del self._outcomes[oldest_id]


def _settle_error(outcome: asyncio.Future[object], exc: BaseException) -> None:
    outcome.set_exception(exc)
    outcome.exception()  # retrieved: a settled error nobody asks for again is not a warning
