"""What a supervisor may not do: pause an agent for a reason only the ACD sets, or grow the
wallboard without bound with marketing groups."""

from __future__ import annotations

import pytest

from agent_api.context import SERVICES
from agent_api.supervisor.http import MAX_MARKETING_GROUPS
from tests.agent_api.stack import Stack, login, next_frame


@pytest.mark.parametrize("reason", ["marketing", "missed", "unreachable"])
async def test_a_supervisor_cannot_force_a_pause_reason_the_acd_sets_itself(stack: Stack, reason: str):
    await stack.acd.login("agent1001")
    csrf = await login(stack.client, "supervisor")
    response = await stack.client.post(
        "/api/supervisor/agents/agent1001/pause", json={"reason": reason}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status == 400
    assert "set by the ACD" in (await response.json())["message"]
    assert str(stack.acd.states.get("agent1001").state) == "available"


async def test_marketing_groups_are_capped_and_the_board_frame_stays_small(stack: Stack):
    csrf = await login(stack.client, "supervisor")
    headers = {"X-CSRF-Token": csrf}
    policy = {"queues": ["support", "sales"], "max_agents": 1, "stop_waiting": 3, "stop_service_level": 0.8}
    names = [f"{n:02d}-" + "g" * 61 for n in range(MAX_MARKETING_GROUPS)]
    for name in names:
        response = await stack.client.put(f"/api/supervisor/marketing/{name}", json=policy, headers=headers)
        assert response.status == 200, await response.text()
    one_more = await stack.client.put("/api/supervisor/marketing/one-more", json=policy, headers=headers)
    assert one_more.status == 409
    assert str(MAX_MARKETING_GROUPS) in (await one_more.json())["message"]
    changed = await stack.client.put(
        f"/api/supervisor/marketing/{names[0]}", json={**policy, "max_agents": 2}, headers=headers
    )
    assert changed.status == 200  # an existing group can still be changed

    ws = await stack.client.ws_connect("/api/ws")
    board = await next_frame(ws, "board")
    assert len(board["board"]["marketing"]) == MAX_MARKETING_GROUPS
    await ws.close()
    assert len(stack.app[SERVICES].board.board_frame().encode()) < 32 * 1024
