"""An agent logs in to the ACD on the extension their account holds; another desk only when an
admin allows the account to hot-desk, never on another account's or a logged-in agent's phone,
and only after typing the code that desk's phone shows."""

from __future__ import annotations

import re

from agent_api.context import SERVICES
from crm import accounts
from crm import audit as audit_log
from crm.kinds import Role
from tests.agent_api.stack import Stack, fast_passwords, login


async def _agent1002(stack: Stack) -> dict[str, str]:
    """agent1002 (extension 1002) logged in to the pages; the CSRF header."""
    await accounts.create_account(
        stack.db,
        accounts.NewAccount(
            "agent1002",
            await fast_passwords().hash("a-long-password"),
            frozenset({Role.AGENT}),
            extension="1002",
            skills={"support": 3},
        ),
    )
    stack.client.session.cookie_jar.clear()
    return {"X-CSRF-Token": await login(stack.client, "agent1002", "a-long-password")}


async def _allow_hot_desk(stack: Stack, username: str) -> None:
    await accounts.update_account(stack.db, username, hot_desk=True)


def _code_shown_on(stack: Stack, extension: str) -> str:
    """The code the phone displays as it rings: its caller ID."""
    originates = [r[2] for r in stack.switch.requests if r[0] == "originate"]
    ringing = [o for o in originates if o["channel"] == f"PJSIP/{extension}"]
    assert ringing, originates
    return re.search(r"<(\d+)>", ringing[-1]["caller_id"]).group(1)


async def test_an_agent_cannot_log_in_on_another_agents_extension(stack: Stack):
    headers = await _agent1002(stack)
    response = await stack.client.post("/api/agent/login", json={"extension": "1001"}, headers=headers)
    assert response.status == 403
    assert "own extension 1002" in (await response.json())["message"]
    assert str(stack.acd.states.get("agent1002").state) == "logged-out"

    # Click-to-dial rings the caller's own phone, never the one they named.
    dial = await stack.client.post("/api/agent/dial", json={"number": "13800138000"}, headers=headers)
    assert dial.status == 200
    assert [r[2]["channel"] for r in stack.switch.requests if r[0] == "originate"] == ["PJSIP/1002"]


async def test_an_agent_logs_in_on_their_own_extension_without_naming_it_or_by_naming_it(stack: Stack):
    headers = await _agent1002(stack)
    response = await stack.client.post("/api/agent/login", json={"extension": "1002"}, headers=headers)
    assert response.status == 200 and (await response.json())["extension"] == "1002"


async def test_a_hot_desk_needs_the_admins_leave_and_the_code_the_desks_phone_shows(stack: Stack):
    headers = await _agent1002(stack)
    refused = await stack.client.post("/api/agent/login", json={"extension": "1009"}, headers=headers)
    assert refused.status == 403 and "hot-desk" in (await refused.json())["message"]

    await _allow_hot_desk(stack, "agent1002")
    asked = await stack.client.post("/api/agent/login", json={"extension": "1009"}, headers=headers)
    assert asked.status == 202, await asked.text()
    body = await asked.json()
    assert body["extension"] == "1009" and "code" not in body  # the code is on the phone only
    await stack.app[SERVICES].hot_desk.settle()
    code = _code_shown_on(stack, "1009")
    assert str(stack.acd.states.get("agent1002").state) == "logged-out"

    wrong = await stack.client.post(
        "/api/agent/login/confirm", json={"code": "0000" if code != "0000" else "1111"}, headers=headers
    )
    assert wrong.status == 403
    confirmed = await stack.client.post("/api/agent/login/confirm", json={"code": code}, headers=headers)
    assert confirmed.status == 200, await confirmed.text()
    assert (await confirmed.json())["extension"] == "1009"
    record = stack.acd.states.get("agent1002")
    assert (str(record.state), record.extension) == ("available", "1009")
    # Calls ringing at the hot desk are this agent's.
    assert stack.app[SERVICES].desktop.agent_of_interface("PJSIP/1009") == "agent1002"
    again = await stack.client.post("/api/agent/login/confirm", json={"code": code}, headers=headers)
    assert again.status == 409  # a code is good once
    entries = await audit_log.entries(stack.db, action="agent-login")
    assert entries[0].detail == {"extension": "1009", "hot_desk": True}


async def test_a_hot_desk_is_never_another_accounts_extension_nor_a_phone_in_use(stack: Stack):
    headers = await _agent1002(stack)
    await _allow_hot_desk(stack, "agent1002")
    theirs = await stack.client.post("/api/agent/login", json={"extension": "1001"}, headers=headers)
    assert theirs.status == 403 and "another account" in (await theirs.json())["message"]
    supervisors = await stack.client.post("/api/agent/login", json={"extension": "2001"}, headers=headers)
    assert supervisors.status == 403
    assert not [r for r in stack.switch.requests if r[0] == "originate"]  # no phone was rung

    await stack.acd.login("agent1001", extension="1009")  # agent1001 works at the free desk 1009
    busy = await stack.client.post("/api/agent/login", json={"extension": "1009"}, headers=headers)
    assert busy.status == 409 and "in use" in (await busy.json())["message"]


async def test_three_wrong_codes_end_the_hot_desk_attempt(stack: Stack):
    headers = await _agent1002(stack)
    await _allow_hot_desk(stack, "agent1002")
    assert (
        await stack.client.post("/api/agent/login", json={"extension": "1009"}, headers=headers)
    ).status == 202
    await stack.app[SERVICES].hot_desk.settle()
    code = _code_shown_on(stack, "1009")
    wrong = "0000" if code != "0000" else "1111"
    statuses = [
        (await stack.client.post("/api/agent/login/confirm", json={"code": wrong}, headers=headers)).status
        for _ in range(3)
    ]
    assert statuses == [403, 403, 403]
    late = await stack.client.post("/api/agent/login/confirm", json={"code": code}, headers=headers)
    assert late.status == 409
    assert str(stack.acd.states.get("agent1002").state) == "logged-out"


async def test_an_admin_allows_hot_desking_and_cannot_give_two_accounts_one_extension(stack: Stack):
    await _agent1002(stack)
    stack.client.session.cookie_jar.clear()
    headers = {"X-CSRF-Token": await login(stack.client, "admin")}
    allowed = await stack.client.patch("/api/admin/users/agent1002", json={"hot_desk": True}, headers=headers)
    assert allowed.status == 200 and (await allowed.json())["hot_desk"] is True
    assert (await accounts.get_account(stack.db, "agent1002")).hot_desk is True
    taken = await stack.client.patch(
        "/api/admin/users/agent1002", json={"extension": "1001"}, headers=headers
    )
    assert taken.status == 409 and "agent1001" in (await taken.json())["message"]
    body = {"username": "zhao.lei", "password": "a-long-password", "roles": ["agent"], "extension": "2001"}
    assert (await stack.client.post("/api/admin/users", json=body, headers=headers)).status == 409
    assert (
        await stack.client.post("/api/admin/users", json={**body, "extension": "1010"}, headers=headers)
    ).status == 200
