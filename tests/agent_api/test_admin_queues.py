"""Admin: the ACD's queues created, changed and removed from the API, saved to the queues file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from acd.models import WaitingCall
from acd.queue_file import load_queue_file, save_queue_file
from crm import audit as audit_log
from cti.events import CallOffered, CallQueued
from tests.agent_api.stack import Stack, login


@pytest.fixture
async def saved_stack(tmp_path: Path) -> AsyncIterator[Stack]:
    path = tmp_path / "queues.yaml"
    running = Stack(tmp_path, queues_file=str(path))
    running = await running.start()
    save_queue_file(path, running.acd.config.queues)
    try:
        yield running
    finally:
        await running.stop()


def file_text(stack: Stack) -> str:
    return Path(stack.queues_file).read_text(encoding="utf-8")


async def admin_headers(stack: Stack) -> dict[str, str]:
    return {"X-CSRF-Token": await login(stack.client, "admin")}


async def test_an_admin_changes_a_queue_the_acd_takes_it_and_the_file_keeps_it(saved_stack: Stack):
    stack = saved_stack
    headers = await admin_headers(stack)
    body = {"strategy": "best-skill", "service_level_s": 15, "max_wait_s": 300, "max_wait_action": "message"}
    response = await stack.client.put("/api/admin/queues/support", json=body, headers=headers)
    assert response.status == 200, await response.text()
    answer = await response.json()
    assert (answer["created"], answer["saved"], answer["queue"]["service_level_s"]) == (False, True, 15)
    assert stack.acd.config.queues["support"].service_level_s == 15
    on_disk = load_queue_file(stack.queues_file)
    assert on_disk == dict(stack.acd.config.queues)
    listed = await (await stack.client.get("/api/admin/queues")).json()
    support = next(q for q in listed["queues"] if q["name"] == "support")
    assert (support["strategy"], support["max_wait_action"], listed["saved"]) == (
        "best-skill",
        "message",
        True,
    )
    [entry] = await audit_log.entries(stack.db, action="queue-update")
    assert (entry.actor, entry.target) == ("admin", "support")
    assert entry.detail["changes"]["service_level_s"] == [20.0, 15.0]
    assert entry.detail["changes"]["strategy"] == ["longest-idle", "best-skill"]
    assert "weight" not in entry.detail["changes"]


async def test_offering_during_wrap_up_is_a_queue_setting_the_admin_turns_on_and_off(saved_stack: Stack):
    stack = saved_stack
    headers = await admin_headers(stack)
    listed = await (await stack.client.get("/api/admin/queues")).json()
    offering = {q["name"]: q["offer_during_wrapup"] for q in listed["queues"]}
    assert offering == {"support": False, "sales": False}
    body = {"service_level_s": 20, "offer_during_wrapup": True}
    response = await stack.client.put("/api/admin/queues/sales", json=body, headers=headers)
    assert response.status == 200, await response.text()
    assert (await response.json())["queue"]["offer_during_wrapup"] is True
    assert stack.acd.config.queues["sales"].offer_during_wrapup is True
    assert load_queue_file(stack.queues_file)["sales"].offer_during_wrapup is True
    [entry] = await audit_log.entries(stack.db, action="queue-update")
    assert entry.detail["changes"] == {"offer_during_wrapup": [False, True]}
    refused = await stack.client.put(
        "/api/admin/queues/sales", json={"offer_during_wrapup": "yes"}, headers=headers
    )
    assert refused.status == 422, await refused.text()
    assert stack.acd.config.queues["sales"].offer_during_wrapup is True


async def test_a_new_queue_is_created_and_removed_with_the_audit_saying_what_it_was(saved_stack: Stack):
    stack = saved_stack
    headers = await admin_headers(stack)
    created = await stack.client.put(
        "/api/admin/queues/billing", json={"skill": "support", "weight": 2}, headers=headers
    )
    assert created.status == 200, await created.text()
    assert (await created.json())["created"] is True
    assert "billing" in load_queue_file(stack.queues_file)
    removed = await stack.client.delete("/api/admin/queues/billing", headers=headers)
    assert removed.status == 204, await removed.text()
    assert "billing" not in stack.acd.config.queues
    assert "billing" not in load_queue_file(stack.queues_file)
    [create] = await audit_log.entries(stack.db, action="queue-create")
    assert create.detail["changes"]["skill"] == [None, "support"]
    [remove] = await audit_log.entries(stack.db, action="queue-remove")
    assert remove.detail["changes"]["weight"] == [2, None]
    missing = await stack.client.delete("/api/admin/queues/billing", headers=headers)
    assert missing.status == 404


async def test_a_queue_with_a_waiting_caller_is_not_removed(saved_stack: Stack):
    stack = saved_stack
    headers = await admin_headers(stack)
    now = datetime.now(UTC)
    stack.bus.publish(CallOffered(now, "c1", "13800138000", "", "4008001234", "PJSIP/trunk-c1"))
    await stack.acd.call_waiting(WaitingCall("c1", "PJSIP/trunk-c1", "sales"))
    await stack.acd.handle(CallQueued(now, "c1", "sales", 1))
    refused = await stack.client.delete("/api/admin/queues/sales", headers=headers)
    assert refused.status == 409
    assert "wait in it" in (await refused.json())["message"]
    assert "sales" in load_queue_file(stack.queues_file)
    assert "sales" in stack.acd.config.queues


@pytest.mark.parametrize(
    ("name", "body", "status", "message"),
    [
        ("support", {"service_level_s": 0}, 422, ""),
        ("support", {"strategy": "random"}, 422, ""),
        ("support", {"weight": 1000}, 422, ""),
        ("support", {"colour": "red"}, 422, ""),
        ("support", {"overflow_after_s": 30}, 400, "overflow_after_s and overflow_to go together"),
        ("support", {"overflow_after_s": 30, "overflow_to": "nowhere"}, 400, "'nowhere' is not a queue"),
        ("support", {"overflow_after_s": 30, "overflow_to": "support"}, 400, "cannot overflow to itself"),
        ("Support Line", {}, 400, "is not a queue name"),
        ("x", {}, 400, "is not a queue name"),
    ],
)
async def test_bad_settings_are_refused_with_a_clear_message_and_nothing_changes(
    saved_stack: Stack, name: str, body: dict, status: int, message: str
):
    stack = saved_stack
    headers = await admin_headers(stack)
    before = file_text(stack)
    response = await stack.client.put(f"/api/admin/queues/{name}", json=body, headers=headers)
    assert response.status == status, await response.text()
    assert message in (await response.json())["message"]
    assert file_text(stack) == before
    assert stack.acd.config.queues["support"].service_level_s == 20


async def test_removing_a_queue_another_overflows_to_is_a_conflict(saved_stack: Stack):
    stack = saved_stack
    headers = await admin_headers(stack)
    body = {"overflow_after_s": 30, "overflow_to": "support"}
    assert (await stack.client.put("/api/admin/queues/sales", json=body, headers=headers)).status == 200
    refused = await stack.client.delete("/api/admin/queues/support", headers=headers)
    assert refused.status == 409
    assert "sales overflow" in (await refused.json())["message"]


async def test_when_the_file_cannot_be_written_the_acd_keeps_its_settings(tmp_path: Path):
    folder = tmp_path / "queues.yaml"
    folder.mkdir()  # a folder where the file should be: the rename fails, even for root
    stack = await Stack(tmp_path, queues_file=str(folder)).start()
    try:
        headers = await admin_headers(stack)
        response = await stack.client.put(
            "/api/admin/queues/support", json={"service_level_s": 5}, headers=headers
        )
        assert response.status == 503
        answer = await response.json()
        assert answer["error"] == "queues_file_not_written"
        assert "nothing was changed" in answer["message"]
        assert stack.acd.config.queues["support"].service_level_s == 20
        assert not await audit_log.entries(stack.db, action="queue-update")
        assert list(folder.iterdir()) == []  # no temporary file left behind
    finally:
        await stack.stop()


async def test_without_a_queues_file_the_change_holds_and_the_answer_says_it_is_not_saved(stack: Stack):
    headers = await admin_headers(stack)
    response = await stack.client.put("/api/admin/queues/sales", json={"weight": 3}, headers=headers)
    assert response.status == 200
    assert (await response.json())["saved"] is False
    assert stack.acd.config.queues["sales"].weight == 3
    assert (await (await stack.client.get("/api/admin/queues")).json())["saved"] is False


async def test_only_an_admin_with_the_csrf_token_changes_queues(stack: Stack):
    csrf = await login(stack.client, "supervisor")
    for method in ("put", "delete"):
        call = getattr(stack.client, method)
        kwargs = {"json": {}} if method == "put" else {}
        assert (await call("/api/admin/queues/sales", headers={"X-CSRF-Token": csrf}, **kwargs)).status == 403
    stack.client.session.cookie_jar.clear()
    await login(stack.client, "admin")
    no_token = await stack.client.put("/api/admin/queues/sales", json={"weight": 1})
    assert no_token.status == 403
    assert (await no_token.json())["error"] == "csrf_failed"
    assert (await stack.client.delete("/api/admin/queues/sales")).status == 403
    assert stack.acd.config.queues["sales"].weight == 0
    stack.client.session.cookie_jar.clear()
    assert (await stack.client.put("/api/admin/queues/sales", json={})).status == 401
