"""The callback queue through the API: read by role, cancelled by a supervisor, taken now by an
agent's click-to-dial (and put back when the dial does not start), outcomes in its history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from acd.callbacks import CallbackRequest
from crm import audit, callback_log
from crm.callback_log import CallbackStep
from cti.switch import OriginateResult
from tests.agent_api.stack import Stack, login

ASKED = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


@pytest.fixture
async def stack(tmp_path: Path):
    s = await Stack(tmp_path).start()
    # Nobody is logged in to the ACD: the callbacks wait.
    await s.acd.request_callback(CallbackRequest("cb-1", "13800131000", "support", ASKED, call_id="c1"))
    await s.acd.request_callback(
        CallbackRequest("cb-2", "13800132000", "sales", ASKED + timedelta(minutes=1), call_id="c2")
    )
    yield s
    await s.stop()


async def _board(stack: Stack) -> dict[str, Any]:
    response = await stack.client.get("/api/callbacks")
    assert response.status == 200, await response.text()
    return await response.json()


async def test_a_supervisor_reads_every_queue_in_serving_order(stack: Stack):
    await login(stack.client, "supervisor")
    board = await _board(stack)
    assert [c["callback_id"] for c in board["waiting"]] == ["cb-1", "cb-2"]
    first = board["waiting"][0]
    assert (first["phase"], first["attempts"], first["retry_at"], first["source"]) == (
        "waiting",
        0,
        None,
        "ivr",
    )


async def test_an_agent_reads_only_the_queues_they_serve(stack: Stack):
    await login(stack.client, "agent1001")  # skills: support
    assert [c["callback_id"] for c in (await _board(stack))["waiting"]] == ["cb-1"]


async def test_a_cancelled_callback_leaves_the_queue_with_who_in_its_history(stack: Stack):
    csrf = await login(stack.client, "supervisor")
    response = await stack.client.post(
        "/api/callbacks/cb-1/cancel", json={"reason": "customer wrote in"}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status == 200, await response.text()
    assert [c.callback_id for c in stack.acd.callbacks.queue.pending()] == ["cb-2"]
    [step] = [s for s in await callback_log.steps_of(stack.db, "cb-1") if s.step is CallbackStep.CANCELLED]
    assert (step.agent, step.detail, step.number) == ("supervisor", "customer wrote in", "13800131000")
    assert [e.target for e in await audit.entries(stack.db, action="callback-cancel")] == ["cb-1"]
    again = await stack.client.post("/api/callbacks/cb-1/cancel", json={}, headers={"X-CSRF-Token": csrf})
    assert again.status == 404


async def test_an_agent_may_not_cancel_and_a_supervisor_may_not_take(stack: Stack):
    csrf = await login(stack.client, "agent1001")
    response = await stack.client.post("/api/callbacks/cb-1/cancel", json={}, headers={"X-CSRF-Token": csrf})
    assert response.status == 403
    await stack.client.delete("/api/session", headers={"X-CSRF-Token": csrf})
    csrf = await login(stack.client, "supervisor")
    response = await stack.client.post("/api/callbacks/cb-1/take", headers={"X-CSRF-Token": csrf})
    assert response.status == 403
    assert len(stack.acd.callbacks.queue.pending()) == 2


async def test_taking_a_callback_now_dials_it_from_my_phone_and_logs_it(stack: Stack):
    csrf = await login(stack.client, "agent1001")
    headers = {"X-CSRF-Token": csrf}
    # Not logged in to the ACD (so it offers them no callback): the account's phone rings.
    response = await stack.client.post("/api/callbacks/cb-1/take", headers=headers)
    assert response.status == 200, await response.text()
    [originate] = [r for r in stack.switch.requests if r[0] == "originate"]
    assert originate[2]["channel"] == "PJSIP/1001" and originate[2]["exten"] == "13800131000"
    assert [c.callback_id for c in stack.acd.callbacks.queue.pending()] == ["cb-2"]
    steps = [s.step for s in await callback_log.steps_of(stack.db, "cb-1")]
    assert steps[-1] is CallbackStep.TAKEN
    outcome = await stack.client.post(
        "/api/callbacks/cb-1/outcome", json={"outcome": "reached", "note": "fixed"}, headers=headers
    )
    assert outcome.status == 200, await outcome.text()
    assert (await outcome.json())["queue"] == "support"
    last = (await callback_log.steps_of(stack.db, "cb-1"))[-1]
    assert (last.step, last.outcome, last.agent) == (CallbackStep.OUTCOME, "reached", "agent1001")


async def test_a_take_whose_dial_does_not_start_puts_the_callback_back_in_its_place(stack: Stack):
    async def refused(**kwargs: Any) -> OriginateResult:
        return OriginateResult("a1", False, "", "8")

    stack.switch.originate = refused  # type: ignore[method-assign]
    csrf = await login(stack.client, "agent1001")
    headers = {"X-CSRF-Token": csrf}
    response = await stack.client.post("/api/callbacks/cb-1/take", headers=headers)
    assert response.status == 200 and (await response.json())["success"] is False
    waiting = stack.acd.callbacks.queue.pending()
    assert (waiting[0].callback_id, waiting[0].requested_at) == ("cb-1", ASKED)


async def test_bad_requests_get_a_clear_4xx(stack: Stack):
    csrf = await login(stack.client, "supervisor")
    headers = {"X-CSRF-Token": csrf}
    assert (await stack.client.get("/api/callbacks?limit=0")).status == 400
    assert (await stack.client.post("/api/callbacks/nope/cancel", json={}, headers=headers)).status == 404
    long_reason = await stack.client.post(
        "/api/callbacks/cb-1/cancel", json={"reason": "x" * 201}, headers=headers
    )
    assert long_reason.status == 422
    bad = await stack.client.post("/api/callbacks/cb-1/outcome", json={"outcome": "maybe"}, headers=headers)
    assert bad.status == 422
    unknown = await stack.client.post(
        "/api/callbacks/zz/outcome", json={"outcome": "reached"}, headers=headers
    )
    assert unknown.status == 404
    assert len(stack.acd.callbacks.queue.pending()) == 2
