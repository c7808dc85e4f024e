"""The post-call satisfaction survey on the real switch (docs/survey.md): the agent hangs up
first, the caller stays on the line, hears the question from Hotline's survey AGI and presses 4;
the 4 is stored on the call's contact and on the ticket the wrap-up opened."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from hotline_process import KNOWN_CALLER, HotlineProcess
from live_harness import AmiSession, Sipp
from test_live_hotline import TO_AN_AGENT, agent_on_duty, events_of, place_call

from cti.events import CallAbandoned, CallAnswered, CallEnded

pytestmark = pytest.mark.live

# After the agent: "4" every 3 s from about when the agent hangs up, across the survey's first
# question (9 s in Mandarin) and its 6 s wait; a 4 pressed while still talking reaches the agent.
FOUR_AFTER_THE_AGENT = (*TO_AN_AGENT, (6.0, "4"), (3.0, "4"), (3.0, "4"), (3.0, "4"), (3.0, "4"))


def stored(hotline: HotlineProcess, query: str, *args: object) -> list[tuple]:
    with sqlite3.connect(f"file:{hotline.workdir / 'var' / 'hotline.db'}?mode=ro", uri=True) as db:
        return db.execute(query, args).fetchall()


async def survey_answered(
    hotline: HotlineProcess, call_id: str, within_s: float = 40.0, *, waiting: bool = False
) -> tuple:
    """The call's survey (way, status, score) once answered, or once asked with ``waiting``."""
    async with asyncio.timeout(within_s):
        while True:
            rows = stored(
                hotline, "SELECT way, status, satisfaction FROM call_surveys WHERE call_id = ?", call_id
            )
            if rows and (waiting or rows[0][1] != "asked"):
                return rows[0]
            await asyncio.sleep(0.5)


async def test_an_agent_who_hangs_up_first_leaves_the_caller_to_the_survey_and_a_four_is_stored(
    hotline: HotlineProcess, ami: AmiSession, sipp: Sipp, tmp_path: Path
) -> None:
    async with sipp.phone("1001"):
        desk = await agent_on_duty(hotline, ami, "agent1001", "1001")
        try:
            await place_call(sipp, tmp_path, KNOWN_CALLER, presses=FOUR_AFTER_THE_AGENT, stay_s=30)
            pop = await desk.frame("pop", within_s=40)
            call_id = pop["call_id"]
            await desk.frame("call", lambda f: f["call_id"] == call_id and f["answered"])
            await asyncio.sleep(1.0)
            await desk.ok("POST", f"/api/agent/calls/{call_id}/hangup")
            # The call is over for the agent as soon as the caller is in the survey, not after it.
            await desk.frame("ended", lambda f: f["call_id"] == call_id, within_s=10)
            done = await desk.ok(
                "POST",
                f"/api/agent/calls/{call_id}/wrapup",
                {
                    "disposition": "resolved",
                    "new_ticket": {"kind": "service_request", "subject": "空调不制冷"},
                    "ready": True,
                },
            )
            assert await survey_answered(hotline, call_id) == ("ivr", "answered", 4)
            assert stored(hotline, "SELECT satisfaction FROM contacts WHERE id = ?", done["contact_id"]) == [
                (4,)
            ]
            assert stored(
                hotline,
                "SELECT satisfaction, evaluation FROM tickets WHERE number = ?",
                done["ticket_number"],
            ) == [(4, "IVR survey")]
            kinds = [type(e) for e in events_of(ami, call_id)]
            assert CallAnswered in kinds and CallAbandoned not in kinds
            assert kinds.count(CallEnded) == 1
            # The thanks is played after the score is stored; then the survey ends.
            await hotline.logged_times("event=survey_done", 1, within_s=20)
        finally:
            await desk.close()


async def test_a_caller_who_hangs_up_first_is_texted_the_survey_once(
    hotline: HotlineProcess, ami: AmiSession, sipp: Sipp, tmp_path: Path
) -> None:
    """The h extension of the answered call runs the survey AGI on the hung-up channel (res_agi's
    dead AGI); Hotline queues the SMS for a customer who consented to SMS."""
    async with sipp.phone("1001"):
        desk = await agent_on_duty(hotline, ami, "agent1001", "1001")
        try:
            # The caller hangs up about 5 s after the agent answered; the agent does not.
            await place_call(sipp, tmp_path, KNOWN_CALLER, stay_s=8)
            pop = await desk.frame("pop", within_s=40)
            call_id = pop["call_id"]
            await desk.ok("PATCH", f"/api/customers/{pop['customer']['id']}", {"consent_sms": True})
            await desk.frame("ended", lambda f: f["call_id"] == call_id, within_s=30)
            assert await survey_answered(hotline, call_id, 20, waiting=True) == ("sms", "asked", None)
            outbox = stored(
                hotline,
                "SELECT topic, channel, address FROM outbox WHERE dedupe_key = ?",
                f"survey:{call_id}:sms",
            )
            assert outbox == [("survey", "sms", "+86" + KNOWN_CALLER)]
            kinds = [type(e) for e in events_of(ami, call_id)]
            assert CallAnswered in kinds and CallAbandoned not in kinds and kinds.count(CallEnded) == 1
        finally:
            await desk.close()
