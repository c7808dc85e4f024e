"""The FastAGI server: Asterisk's ``agi://HOST:4573/ivr`` runs the menu for the dialed number.

This is the thin shell around the menu engine: it takes the AGI environment from the
application (ivr/agi_application.py, panoramisk's, fixed), performs each step the engine
returns (an AGI command, a CRM lookup), feeds the reply back, and when the call leaves the IVR
publishes ``IvrCompleted`` (and ``CallbackRequested``) on the bus.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cti.bus import EventBus
from hotline.settings import Settings
from ivr.agi import AgiEnvironment, AgiReply, ReplyKind
from ivr.agi_application import AgiRequest, FastAgiApplication
from ivr.crm_port import CustomerLookup, LookupSource, SurveyAnswers
from ivr.errors import AgiError, AgiHangup, AgiTimeout, LookupUnavailable
from ivr.events import CallbackRequested, IvrCompleted, IvrOutcome
from ivr.menu import MenuRun
from ivr.prompts import PromptPaths
from ivr.registry import MenuRegistry
from ivr.steps import (
    FindCaller,
    Finished,
    GetData,
    GetVariable,
    HangupChannel,
    LookupAnswer,
    LookupStatus,
    SayDigits,
    SayNumber,
    SetVariable,
    StreamFile,
)
from ivr.survey import SMS_ARGUMENT, QueueSmsSurvey, RecordAnswer, SurveyRun

log = logging.getLogger(__name__)

ROUTE = "ivr"
SURVEY_ROUTE = "survey"
_HUNG_UP = AgiReply(ReplyKind.RESULT, 200, "1")
_PLAIN_AGI_STEPS = frozenset({StreamFile, GetData, SayDigits, SayNumber, SetVariable, GetVariable})


class IvrServer:
    """Runs the menus for Asterisk; owns its listening socket and its sessions."""

    def __init__(
        self,
        *,
        registry: MenuRegistry,
        bus: EventBus,
        customers: CustomerLookup,
        prompts: PromptPaths,
        surveys: SurveyAnswers | None = None,
        timezone: str = "Asia/Shanghai",
        command_timeout_s: float = 30.0,
        lookup_timeout_s: float = 2.0,
        default_queue: str = "support",
        host: str = "127.0.0.1",
        port: int = 4573,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.registry = registry
        self.bus = bus
        self.customers = customers
        self.surveys = surveys
        self.prompts = prompts
        self.command_timeout_s = command_timeout_s
        self.lookup_timeout_s = lookup_timeout_s
        self.default_queue = default_queue
        self.host = host
        self.requested_port = port
        zone = ZoneInfo(timezone)
        self.clock = clock or (lambda: datetime.now(zone))
        self._app: FastAgiApplication | None = None
        self._server: asyncio.Server | None = None
        self._warned_years: set[int] = set()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        registry: MenuRegistry,
        bus: EventBus,
        customers: CustomerLookup,
        surveys: SurveyAnswers | None = None,
    ) -> IvrServer:
        return cls(
            registry=registry,
            bus=bus,
            customers=customers,
            surveys=surveys,
            prompts=PromptPaths(str(Path(settings.agi.prompts_dir).resolve())),
            timezone=settings.timezone,
            command_timeout_s=settings.agi.command_timeout_s,
            host=settings.agi.host,
            port=settings.agi.port,
        )

    @property
    def port(self) -> int:
        assert self._server is not None, "the FastAGI server is not started"
        return self._server.sockets[0].getsockname()[1]

    async def start(self) -> None:
        self._app = FastAgiApplication(command_timeout_s=self.command_timeout_s)
        self._app.add_route(ROUTE, self.run_session)
        self._app.add_route(SURVEY_ROUTE, self.run_survey)
        self._app.start()
        self._server = await asyncio.start_server(self._app.handler, self.host, self.requested_port)
        log.info("agi_listening", extra={"kv": {"host": self.host, "port": self.port}})

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stop accepting, let calls in the IVR finish for ``grace_s``, then cut the rest short
        (their channels go on in the dialplan with HOTLINE_QUEUE already set)."""
        if self._server is None or self._app is None:
            return
        self._server.close()
        sessions = set(self._app.sessions)
        if sessions:
            _, pending = await asyncio.wait(sessions, timeout=grace_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        # Since Python 3.12 wait_closed() also waits for the connections: only after the sessions.
        await self._server.wait_closed()
        await self._app.close()
        self._server = None

    async def run_session(self, request: AgiRequest) -> None:
        environment = request.environment
        menu = self.registry.get(environment.dialed)
        if menu is None:
            log.warning("ivr_no_menu", extra={"kv": {"dialed": environment.dialed}})
            try:
                await request.execute(SetVariable("HOTLINE_QUEUE", self.default_queue).line())
            finally:
                self._publish_no_menu(environment)
            return
        run = MenuRun(
            menu,
            caller=environment.caller,
            uniqueid=environment.uniqueid,
            now=self.clock(),
            calendar=self.registry.calendar(menu.number),
            prompts=self.prompts,
        )
        try:
            step = run.start()
            execute = request.execute
            while True:
                # Most steps are plain AGI commands: they go straight out, without another await layer.
                if type(step) in _PLAIN_AGI_STEPS:
                    step = run.send(await execute(step.line(), patience_s=step.patience_s))
                elif isinstance(step, Finished):
                    break
                else:
                    step = run.send(await self._perform(request, step))
        except AgiHangup:
            run.stop(IvrOutcome.CALLER_HUNG_UP)
        except AgiTimeout as exc:
            run.stop(IvrOutcome.STALLED)
            log.warning("ivr_stalled", extra={"kv": {"call_id": run.call_id, "reason": str(exc)}})
        except AgiError as exc:
            run.stop(IvrOutcome.FAILED)
            log.warning("ivr_agi_error", extra={"kv": {"call_id": run.call_id, "reason": str(exc)}})
        except Exception:
            # The caller is not stranded: HOTLINE_QUEUE was set to the fallback queue first.
            run.stop(IvrOutcome.FAILED)
            log.exception("ivr_failed", extra={"kv": {"call_id": run.call_id, "queue": run.queue}})
        finally:
            self._publish(run, environment)

    async def run_survey(self, request: AgiRequest) -> None:
        """The post-call survey (ivr/survey.py): keypad, or an SMS when the caller is gone."""
        environment = request.environment
        menu = self.registry.get(environment.dialed)
        by_sms = environment.get("agi_arg_1") == SMS_ARGUMENT
        if menu is None or menu.survey is None or self.surveys is None:
            log.info("survey_skipped", extra={"kv": {"dialed": environment.dialed, "sms": by_sms}})
            return
        run = SurveyRun(
            menu,
            menu.survey,
            caller=environment.caller,
            uniqueid=environment.uniqueid,
            language=environment.get("agi_language"),
            prompts=self.prompts,
            by_sms=by_sms,
        )
        answered = False
        try:
            step = run.start()
            while not isinstance(step, Finished):
                if isinstance(step, RecordAnswer):
                    answered = True
                    await self._ask_surveys(
                        request,
                        "record_answer",
                        self.surveys.record_answer(step.call_id, step.caller, step.satisfaction),
                    )
                    step = run.send(None)
                elif isinstance(step, QueueSmsSurvey):
                    answered = True
                    await self._ask_surveys(
                        request, "queue_sms_survey", self.surveys.queue_sms_survey(step.call_id, step.caller)
                    )
                    step = run.send(None)
                else:
                    step = run.send(await self._perform(request, step))
        except AgiHangup:
            run.stop()
            if by_sms and not answered and run.caller:
                # A dead channel that refuses even GET VARIABLE: the caller's own channel is the
                # call's first, so its uniqueid is the call's id.
                answered = True
                await self._ask_surveys(
                    request, "queue_sms_survey", self.surveys.queue_sms_survey(run.call_id, run.caller)
                )
            if not answered and not by_sms:
                # Asked and hung up on: kept as unanswered, so the call is not surveyed again.
                await self._ask_surveys(
                    request, "record_answer", self.surveys.record_answer(run.call_id, run.caller, None)
                )
        except AgiError as exc:
            run.stop()
            log.warning("survey_agi_error", extra={"kv": {"call_id": run.call_id, "reason": str(exc)}})
        log.info(
            "survey_done",
            extra={"kv": {"call_id": run.call_id, "sms": by_sms, "satisfaction": run.satisfaction}},
        )

    async def _ask_surveys(self, request: AgiRequest, what: str, question: Awaitable[None]) -> None:
        try:
            await request.wait_for(question, self.lookup_timeout_s)
        except (LookupUnavailable, TimeoutError) as exc:
            log.warning("survey_not_stored", extra={"kv": {"what": what, "reason": str(exc) or "timeout"}})

    async def _perform(self, request: AgiRequest, step: Any) -> object:
        if isinstance(step, FindCaller):
            return await self._ask_crm(request, "find_caller", self.customers.find_caller(step.number), None)
        if isinstance(step, LookupStatus):
            return await self._lookup(request, step)
        if isinstance(step, HangupChannel):
            try:
                return await request.execute(step.line())
            except AgiHangup:
                return _HUNG_UP
        return await request.execute(step.line(), patience_s=step.patience_s)

    async def _lookup(self, request: AgiRequest, step: LookupStatus) -> LookupAnswer:
        if step.source is LookupSource.TICKET:
            question = self.customers.ticket_status(step.key)
            found: Any = await self._ask_crm(request, "ticket_status", question, False)
        else:
            question = self.customers.order_progress(step.key)
            found = await self._ask_crm(request, "order_progress", question, False)
        if found is False:
            return LookupAnswer(available=False)
        if found is None:
            return LookupAnswer(available=True, found=False)
        return LookupAnswer(available=True, found=True, status=found.status)

    async def _ask_crm(
        self, request: AgiRequest, what: str, question: Awaitable[Any], unavailable: Any
    ) -> Any:
        try:
            return await request.wait_for(question, self.lookup_timeout_s)
        except (LookupUnavailable, TimeoutError) as exc:
            log.warning(
                "ivr_lookup_unavailable", extra={"kv": {"lookup": what, "reason": str(exc) or "timeout"}}
            )
            return unavailable

    def _publish(self, run: MenuRun, environment: AgiEnvironment) -> None:
        at = self.clock()
        if run.calendar_estimated and at.year not in self._warned_years:
            self._warned_years.add(at.year)
            log.warning("calendar_year_not_covered", extra={"kv": {"year": at.year, "rule": "Mon-Fri"}})
        self.bus.publish(
            IvrCompleted(
                at=at,
                call_id=run.call_id,
                channel=environment.channel,
                caller=environment.caller,
                dialed=environment.dialed,
                path=tuple(run.path),
                queue=run.queue,
                skill=run.skill,
                priority=run.priority,
                language=run.language,
                customer_id=run.customer_id,
                outcome=run.outcome,
                transfer_to=run.transfer_to,
                started_at=run.now,
            )
        )
        if run.callback is not None:
            self.bus.publish(
                CallbackRequested(
                    at=at,
                    call_id=run.call_id,
                    channel=environment.channel,
                    number=run.callback.number,
                    queue=run.callback.queue,
                    skill=run.callback.skill,
                    priority=run.callback.priority,
                    language=run.language,
                    customer_id=run.customer_id,
                )
            )
        # Every call's path is on the bus (and in the CRM's contact); the log keeps the calls that
        # went wrong (stalled, failed: logged where they fail) and shows the rest at DEBUG.
        if log.isEnabledFor(logging.DEBUG):
            fields = {
                "call_id": run.call_id,
                "outcome": run.outcome,
                "queue": run.queue,
                "caller": environment.caller,
            }
            log.debug("ivr_completed", extra={"kv": fields})

    def _publish_no_menu(self, environment: AgiEnvironment) -> None:
        self.bus.publish(
            IvrCompleted(
                at=self.clock(),
                call_id=environment.uniqueid,
                channel=environment.channel,
                caller=environment.caller,
                dialed=environment.dialed,
                path=(),
                queue=self.default_queue,
                skill="",
                priority=0,
                language="",
                customer_id=None,
                outcome=IvrOutcome.NO_MENU,
            )
        )
