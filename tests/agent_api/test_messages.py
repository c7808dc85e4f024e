"""Messages left, through the API: listed by role and filter, played with seeking, worked, audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crm import accounts, audit, messages
from crm.kinds import Role
from crm.messages import NewMessage
from recording.message_files import MessageFiles
from tests.agent_api.stack import CUSTOMER_NAME, CUSTOMER_PHONE, Stack, fast_passwords, login

AT = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)
AUDIO = b"RIFF" + bytes(range(256)) * 8


@pytest.fixture
async def stack(tmp_path: Path):
    files = MessageFiles(spool_dir=tmp_path / "spool")
    clip = files.spool_dir / "messages" / "2026" / "12" / "07" / "c1" / "c1.wav"
    clip.parent.mkdir(parents=True)
    clip.write_bytes(AUDIO)
    s = await Stack(tmp_path, message_files=files).start()
    for n, (call_id, queue, file) in enumerate(
        [
            ("c1", "support", "spool/messages/2026/12/07/c1/c1.wav"),
            ("c2", "sales", ""),
            ("c3", "support", "spool/messages/2026/12/07/c3/gone.wav"),
            ("c4", "support", "spool/../../etc/passwd"),
        ]
    ):
        await messages.store_message(
            s.db, NewMessage(call_id, AT + timedelta(minutes=n), CUSTOMER_PHONE, queue, file, "SILENCE")
        )
    yield s
    await s.stop()


async def _ids(stack: Stack, query: str = "") -> list[str]:
    response = await stack.client.get("/api/messages" + query)
    assert response.status == 200, await response.text()
    return [m["call_id"] for m in (await response.json())["messages"]]


async def test_a_supervisor_sees_every_queue_newest_first_and_filters(stack: Stack):
    await login(stack.client, "supervisor")
    assert await _ids(stack) == ["c4", "c3", "c2", "c1"]
    assert await _ids(stack, "?queue=sales") == ["c2"]
    body = await (await stack.client.get("/api/messages")).json()
    first = body["messages"][-1]
    assert first["customer_name"] == CUSTOMER_NAME and first["has_audio"] and body["new"] == 4


async def test_an_agent_sees_only_the_queues_their_skills_serve(stack: Stack):
    await login(stack.client, "agent1001")  # skills: support
    assert await _ids(stack) == ["c4", "c3", "c1"]
    assert await _ids(stack, "?queue=sales") == []
    response = await stack.client.get("/api/messages/2/audio")
    assert response.status == 404  # another queue's message does not exist for them


async def test_done_keeps_who_and_when_is_audited_and_leaves_the_new_list(stack: Stack):
    csrf = await login(stack.client, "agent1001")
    headers = {"X-CSRF-Token": csrf}
    response = await stack.client.post(
        "/api/messages/1/status", json={"status": "done", "note": "rang, solved"}, headers=headers
    )
    assert response.status == 200, await response.text()
    done = await response.json()
    assert (done["status"], done["handled_by"], done["note"]) == ("done", "agent1001", "rang, solved")
    assert done["handled_at"] is not None
    assert "c1" not in await _ids(stack, "?status=new")
    assert await _ids(stack, "?status=done") == ["c1"]
    entries = await audit.entries(stack.db, limit=20)
    assert any(e.action == "message-status" and e.target == "1" and e.actor == "agent1001" for e in entries)
    back = await stack.client.post("/api/messages/1/status", json={"status": "new"}, headers=headers)
    assert (await back.json())["handled_by"] == ""


async def test_playback_streams_the_file_with_ranges_and_audits_one_listening(stack: Stack):
    await login(stack.client, "supervisor")
    whole = await stack.client.get("/api/messages/1/audio")
    assert whole.status == 200 and await whole.read() == AUDIO
    assert whole.headers["Content-Type"] == "audio/wav"
    part = await stack.client.get("/api/messages/1/audio", headers={"Range": "bytes=4-9"})
    assert part.status == 206 and await part.read() == AUDIO[4:10]
    assert part.headers["Content-Range"] == f"bytes 4-9/{len(AUDIO)}"
    bad = await stack.client.get("/api/messages/1/audio", headers={"Range": "bytes=99999-"})
    assert bad.status == 416
    plays = [e for e in await audit.entries(stack.db, limit=20) if e.action == "message-play"]
    assert len(plays) == 1  # the seek is the same listening


@pytest.mark.parametrize(
    ("message_id", "status"),
    [(2, 404), (3, 404), (4, 409), (99, 404)],  # no file; file gone; a path out of the folders; none
)
async def test_a_message_without_a_playable_file_answers_a_clear_4xx(
    stack: Stack, message_id: int, status: int
):
    await login(stack.client, "supervisor")
    response = await stack.client.get(f"/api/messages/{message_id}/audio")
    assert response.status == status
    assert (await response.json())["message"]


async def test_bad_queries_and_bodies_are_refused_with_400(stack: Stack):
    csrf = await login(stack.client, "supervisor")
    assert (await stack.client.get("/api/messages?status=lost")).status == 400
    assert (await stack.client.get("/api/messages?limit=0")).status == 400
    for body in ({"status": "archived"}, {"status": "done", "x": 1}, {"status": "done", "note": "n" * 2001}):
        response = await stack.client.post(
            "/api/messages/1/status", json=body, headers={"X-CSRF-Token": csrf}
        )
        assert response.status == 422, body
        assert (await response.json())["error"] == "invalid_body"
    assert (await messages.get_message(stack.db, 1)).status is messages.MessageStatus.NEW


async def test_an_analyst_without_a_desk_may_not_read_messages(stack: Stack):
    await accounts.create_account(
        stack.db,
        accounts.NewAccount(
            username="ana",
            password_hash=await fast_passwords().hash("demo"),
            roles=frozenset({Role.ANALYST}),
            display_name="ana",
        ),
    )
    await login(stack.client, "ana")
    assert (await stack.client.get("/api/messages")).status == 403
    assert (await stack.client.get("/messages", allow_redirects=False)).status == 403
