"""The supervisor: wallboard, marketing threshold (audited), listen/whisper/barge, force pause and log out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from acd.models import WaitingCall
from agent_api.context import SERVICES
from crm import audit as audit_log
from cti.events import CallAnswered, CallQueued
from cti.switch import OriginateResult, SpyMode
from tests.agent_api.stack import Stack, login, next_frame


async def _agent_logged_in(stack: Stack) -> None:
    await stack.acd.login("agent1001")


async def test_lowering_the_threshold_shows_on_the_board_and_in_the_audit_log(stack: Stack):
    await _agent_logged_in(stack)
    csrf = await login(stack.client, "supervisor")
    response = await stack.client.put(
        "/api/supervisor/marketing/default",
        json={"queues": ["support"], "max_agents": 0, "stop_waiting": 3},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 200, await response.text()
    board = await response.json()
    assert board["marketing"][0]["limit"] == 0 and board["marketing"][0]["stop_waiting"] == 3
    assert [a["agent"] for a in board["agents"]] == ["agent1001"]
    entries = await audit_log.entries(stack.db, action="threshold-change")
    assert entries[0].actor == "supervisor" and entries[0].target == "default"


async def test_a_threshold_with_unknown_queues_or_contradictory_conditions_is_refused(stack: Stack):
    csrf = await login(stack.client, "supervisor")
    headers = {"X-CSRF-Token": csrf}
    unknown = await stack.client.put(
        "/api/supervisor/marketing/g", json={"queues": ["nope"], "max_agents": 1}, headers=headers
    )
    assert unknown.status == 400
    nothing = await stack.client.put(
        "/api/supervisor/marketing/g", json={"queues": ["support"]}, headers=headers
    )
    assert nothing.status == 400 and "max_agents" in (await nothing.json())["message"]


async def _agent_on_a_call(stack: Stack, call_id: str = "s1") -> None:
    await stack.acd.login("agent1001")
    await stack.acd.handle(
        CallAnswered(datetime.now(UTC), call_id, "PJSIP/1001", "support", 1.0, "PJSIP/1001-1")
    )
    assert stack.acd.states.get("agent1001").state == "on-call"


async def test_whisper_originates_the_supervisors_phone_onto_the_agent_and_is_audited(stack: Stack):
    await _agent_on_a_call(stack)
    csrf = await login(stack.client, "supervisor")
    response = await stack.client.post(
        "/api/supervisor/agents/agent1001/spy", json={"mode": "whisper"}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status == 200
    assert stack.switch.requests[-1][:2] == ("spy", ("PJSIP/2001", "1001", SpyMode.WHISPER))
    assert (await audit_log.entries(stack.db, action="spy-whisper"))[0].target == "agent1001"
    answer = await response.json()
    assert answer["success"] is True and "2001" in answer["message"] and "已接入" in answer["message"]


async def test_listening_to_an_agent_on_no_call_is_refused_at_once(stack: Stack):
    await _agent_logged_in(stack)
    csrf = await login(stack.client, "supervisor")
    response = await stack.client.post(
        "/api/supervisor/agents/agent1001/spy", json={"mode": "listen"}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status == 409
    assert not [r for r in stack.switch.requests if r[0] == "spy"]


async def test_a_supervisors_phone_that_does_not_answer_is_said_plainly(stack: Stack):
    await _agent_on_a_call(stack)

    async def no_answer(supervisor, agent_extension, mode, **kwargs):
        return OriginateResult(action_id="s2", success=False, reason="3")

    stack.switch.spy = no_answer  # type: ignore[method-assign]
    csrf = await login(stack.client, "supervisor")
    response = await stack.client.post(
        "/api/supervisor/agents/agent1001/spy", json={"mode": "barge"}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status == 200
    answer = await response.json()
    assert (answer["success"], answer["reason"]) == (False, "3") and "未接听" in answer["message"]


async def test_the_board_lists_waiting_callers_and_says_an_empty_queue_has_no_service_level(stack: Stack):
    await stack.acd.call_waiting(
        WaitingCall("w1", "PJSIP/trunk-w1", "sales", priority=5, caller="13800138000")
    )
    await stack.acd.handle(CallQueued(datetime.now(UTC), "w1", "sales", 1, 5))
    csrf = await login(stack.client, "supervisor")
    board = await (await stack.client.get("/api/supervisor/wallboard", headers={"X-CSRF-Token": csrf})).json()
    [waiting] = board["waiting_calls"]
    assert (waiting["queue"], waiting["priority"], waiting["caller"]) == ("sales", 5, "…8000")
    support = next(q for q in board["queues"] if q["queue"] == "support")
    assert support["offered"] == 0 and support["service_level_s"] == 20.0
    assert board["window_s"] == 1800.0


async def test_force_pause_and_log_out_change_the_agents_state(stack: Stack):
    await _agent_logged_in(stack)
    csrf = await login(stack.client, "supervisor")
    headers = {"X-CSRF-Token": csrf}
    paused = await stack.client.post(
        "/api/supervisor/agents/agent1001/pause", json={"reason": "meeting"}, headers=headers
    )
    assert paused.status == 204
    assert str(stack.acd.states.get("agent1001").state) == "paused"
    out = await stack.client.post("/api/supervisor/agents/agent1001/logout", headers=headers)
    assert out.status == 204
    assert str(stack.acd.states.get("agent1001").state) == "logged-out"
    assert (await stack.client.post("/api/supervisor/agents/ghost/logout", headers=headers)).status == 404


async def test_the_board_socket_gets_coalesced_updates(stack: Stack):
    await login(stack.client, "supervisor")
    ws = await stack.client.ws_connect("/api/ws")
    await next_frame(ws, "board")
    await _agent_logged_in(stack)
    board = await next_frame(ws, "board")
    while not board["board"]["agents"]:
        board = await next_frame(ws, "board")
    assert board["board"]["agents"][0]["state"] == "available"
    service = stack.app[SERVICES].board
    before = service.pushed
    for _ in range(100):
        service.mark_dirty()
    await next_frame(ws, "board")
    await ws.send_str("ping")
    extra = 0
    while True:
        message = await ws.receive_json()
        if message["type"] == "pong":
            break
        extra += message["type"] == "board"
    assert service.pushed - before == 1 and extra == 0
    await ws.close()


async def test_no_board_is_built_while_no_supervisor_watches(stack: Stack):
    service = stack.app[SERVICES].board
    built = 0
    real = service.board_frame

    def counted() -> str:
        nonlocal built
        built += 1
        return real()

    service.board_frame = counted  # type: ignore[method-assign]
    await _agent_logged_in(stack)  # a change the board would show
    for _ in range(3):
        service.mark_dirty()
        await asyncio.sleep(0.2)
    assert built == 0
    await login(stack.client, "supervisor")
    ws = await stack.client.ws_connect("/api/ws")
    assert (await next_frame(ws, "board"))["board"]["agents"][0]["state"] == "available"
    service.mark_dirty()
    await next_frame(ws, "board")
    assert built >= 2  # the page's first board, then the change
    await ws.close()


async def test_the_service_level_chart_is_svg_drawn_on_the_server(stack: Stack):
    await login(stack.client, "supervisor")
    response = await stack.client.get("/supervisor/board.svg")
    assert response.content_type == "image/svg+xml"
    text = await response.text()
    assert text.startswith("<svg") and "support" in text
