"""The recordings API: search, playback with seeking, download, roles, audit, QA, holds, purge."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from crm import audit
from crm import recordings as index
from crm.recordings import RecordingState
from tests.agent_api.stack import login
from tests.recording.audio import HAVE_TOOLS
from tests.recording.calls import T0
from tests.recording.stack import RecordingStack

pytestmark = pytest.mark.skipif(not HAVE_TOOLS, reason="sox, espeak-ng and ffmpeg are needed")


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[RecordingStack]:
    running = await RecordingStack(tmp_path).start()
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.recording import audio

    folder = tmp_path_factory.mktemp("clip")
    caller, agent = audio.call_legs(folder)
    return audio.mix(folder / "call.wav", caller, agent)


async def test_a_supervisor_finds_a_stored_recording_by_agent_queue_number_and_duration(stack, clip):
    stored = await stack.recorded_call("1795416380.1", clip)
    await stack.recorded_call("1795416380.2", clip, agent="PJSIP/1002", queue="sales", caller="13900001111")
    await login(stack.client, "supervisor")

    async def ids(query: str) -> list[int]:
        response = await stack.client.get("/api/recordings" + query)
        assert response.status == 200, await response.text()
        return [r["id"] for r in (await response.json())["recordings"]]

    assert len(await ids("")) == 2
    assert await ids("?agent=agent1001") == [stored.id]
    assert await ids("?queue=support") == [stored.id]
    assert await ids("?number=8000") == [stored.id]  # the last digits
    assert await ids("?min_duration_s=1&max_duration_s=60") != []
    assert await ids("?min_duration_s=600") == []
    since = (T0 - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert len(await ids(f"?since={since}")) == 2
    assert await ids("?since=2030-01-01T00:00:00Z") == []
    response = await stack.client.get("/api/recordings?number=../../etc")
    assert response.status == 400


async def test_playback_answers_range_requests_with_206_and_content_range_so_the_player_can_seek(stack, clip):
    stored = await stack.recorded_call("1795416380.3", clip)
    await login(stack.client, "supervisor")
    url = f"/api/recordings/{stored.id}/audio"
    whole = await stack.client.get(url)
    assert whole.status == 200
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["Content-Type"] == "audio/mpeg"
    body = await whole.read()
    assert len(body) == stored.size_bytes

    part = await stack.client.get(url, headers={"Range": "bytes=1000-1999"})
    assert part.status == 206
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{stored.size_bytes}"
    assert await part.read() == body[1000:2000]

    tail = await stack.client.get(url, headers={"Range": "bytes=-500"})
    assert tail.status == 206
    assert await tail.read() == body[-500:]
    open_ended = await stack.client.get(url, headers={"Range": f"bytes={len(body) - 10}-"})
    assert await open_ended.read() == body[-10:]


@pytest.mark.parametrize("kind", ["audio", "download"])
async def test_head_answers_like_get_without_the_body_and_without_an_audit_entry(stack, clip, kind):
    stored = await stack.recorded_call("1795416380.8", clip)
    await login(stack.client, "supervisor")
    url = f"/api/recordings/{stored.id}/{kind}"
    head = await stack.client.head(url)
    assert head.status == 200
    assert head.headers["Content-Length"] == str(stored.size_bytes)
    assert head.headers["Accept-Ranges"] == "bytes"
    assert head.headers["Content-Type"] == "audio/mpeg"
    assert await head.read() == b""
    part = await stack.client.head(url, headers={"Range": "bytes=1000-1999"})
    assert part.status == 206
    assert part.headers["Content-Length"] == "1000"
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{stored.size_bytes}"
    refused = await stack.client.head(url, headers={"Range": "bytes=999999999-"})
    assert refused.status == 416
    assert refused.headers["Content-Range"] == f"bytes */{stored.size_bytes}"
    assert await audit.entries(stack.db, action=f"recording-{'play' if kind == 'audio' else kind}") == ()
    get = await stack.client.get(url)
    assert {k: get.headers[k] for k in ("Content-Type", "Accept-Ranges", "Content-Length")} == {
        k: head.headers[k] for k in ("Content-Type", "Accept-Ranges", "Content-Length")
    }


@pytest.mark.parametrize(
    "header",
    ["bytes=999999999-", "bytes=500-100", "bytes=abc", "items=0-10", "bytes=../../etc/passwd", "bytes=-0"],
)
async def test_a_bogus_range_is_refused_with_416_and_says_what_was_wrong(stack, clip, header):
    stored = await stack.recorded_call("1795416380.4", clip)
    await login(stack.client, "supervisor")
    response = await stack.client.get(f"/api/recordings/{stored.id}/audio", headers={"Range": header})
    assert response.status == 416
    assert response.headers["Content-Range"] == f"bytes */{stored.size_bytes}"
    error = await response.json()
    assert error["error"] == "range_not_satisfiable"
    assert error["message"]
    assert error["details"]["size"] == stored.size_bytes


@pytest.mark.parametrize(
    "path", ["/api/recordings/..%2f..%2fetc%2fpasswd/audio", "/api/recordings/1.5/download"]
)
async def test_a_path_instead_of_a_recording_id_is_refused(stack, path):
    await login(stack.client, "supervisor")
    response = await stack.client.get(path)
    assert response.status in (404, 422)
    assert b"root:" not in await response.read()


async def test_playback_and_download_are_audited_and_seeks_are_not_each_logged(stack, clip):
    stored = await stack.recorded_call("1795416380.5", clip)
    await login(stack.client, "supervisor")
    for first in (0, 1000, 2000):
        await stack.client.get(f"/api/recordings/{stored.id}/audio", headers={"Range": f"bytes={first}-"})
    download = await stack.client.get(f"/api/recordings/{stored.id}/download")
    assert download.status == 200
    assert download.headers["Content-Disposition"] == f'attachment; filename="recording-{stored.id}.mp3"'
    entries = await audit.entries(stack.db, actor="supervisor")
    actions = [e.action for e in entries if e.target == str(stored.id)]
    assert sorted(actions) == ["recording-download", "recording-play"]


async def test_an_agent_hears_their_own_calls_only_and_sees_numbers_masked(stack, clip):
    own = await stack.recorded_call("1795416380.6", clip, agent="PJSIP/1001")
    other = await stack.recorded_call("1795416380.7", clip, agent="PJSIP/1002")
    await login(stack.client, "agent1001")
    listing = await (await stack.client.get("/api/recordings")).json()
    assert [r["id"] for r in listing["recordings"]] == [own.id]
    assert listing["recordings"][0]["number"] == "138****8000"
    assert (await stack.client.get(f"/api/recordings/{own.id}/audio")).status == 200
    refused = await stack.client.get(f"/api/recordings/{other.id}/audio")
    assert refused.status == 403
    assert "calls they answered" in (await refused.json())["message"]


async def test_a_recording_needs_a_session(stack, clip):
    stored = await stack.recorded_call("1795416380.8", clip)
    assert (await stack.client.get(f"/api/recordings/{stored.id}/audio")).status == 401


async def test_a_supervisor_scores_a_recording_and_the_agent_sees_the_result(stack, clip):
    stored = await stack.recorded_call("1795416380.9", clip)
    csrf = await login(stack.client, "supervisor")
    answers = {"greeting": True, "identity": True, "understood": 4, "accurate": 5, "hold": True}
    answers |= {"summary": False, "courtesy": 5}
    body = {
        "form": "standard",
        "answers": answers,
        "comments": [{"offset_s": 2.5, "text": "did not state the order number back"}],
    }
    response = await stack.client.post(
        f"/api/recordings/{stored.id}/reviews", json=body, headers={"X-CSRF-Token": csrf}
    )
    assert response.status == 200, await response.text()
    review = await response.json()
    assert review["score"] == 86.0
    assert review["sections"]["Closing"] == 50.0

    bad = await stack.client.post(
        f"/api/recordings/{stored.id}/reviews",
        json={**body, "answers": {**answers, "greeting": 3}},
        headers={"X-CSRF-Token": csrf},
    )
    assert bad.status == 422
    assert "greeting" in (await bad.json())["message"]
    late = await stack.client.post(
        f"/api/recordings/{stored.id}/reviews",
        json={**body, "comments": [{"offset_s": 3600, "text": "x"}]},
        headers={"X-CSRF-Token": csrf},
    )
    assert late.status == 422

    await stack.client.delete("/api/session", headers={"X-CSRF-Token": csrf})
    await login(stack.client, "agent1001")
    detail = await (await stack.client.get(f"/api/recordings/{stored.id}")).json()
    assert detail["recording"]["qa_score"] == 86.0
    assert detail["reviews"][0]["comments"][0]["offset_s"] == 2.5
    scores = await (await stack.client.get("/api/recordings/scores?by=agent")).json()
    assert scores["rows"] == [
        {"key": "agent1001", "reviews": 1, "average": 86.0, "lowest": 86.0, "highest": 86.0}
    ]
    found = await (await stack.client.get("/api/recordings?min_score=80")).json()
    assert [r["id"] for r in found["recordings"]] == [stored.id]


async def test_the_purge_removes_expired_recordings_but_not_held_ones_and_admins_see_storage(stack, clip):
    kept = await stack.recorded_call("1795416380.10", clip)
    gone = await stack.recorded_call("1795416380.11", clip)
    csrf = await login(stack.client, "supervisor")
    hold = await stack.client.put(
        f"/api/recordings/{kept.id}/hold",
        json={"held": True, "reason": "case 2026-114"},
        headers={"X-CSRF-Token": csrf},
    )
    assert hold.status == 200 and (await hold.json())["held"] is True
    no_reason = await stack.client.put(
        f"/api/recordings/{gone.id}/hold", json={"held": True}, headers={"X-CSRF-Token": csrf}
    )
    assert no_reason.status == 422

    purged = await stack.service.purge(kept.retain_until + timedelta(days=1))

    assert [p.recording_id for p in purged] == [gone.id]
    assert not (stack.service.config.store_dir / gone.stored_path).exists()
    assert (stack.service.config.store_dir / kept.stored_path).exists()
    assert (await index.get_recording(stack.db, gone.id)).state is RecordingState.PURGED
    assert (await stack.client.get(f"/api/recordings/{gone.id}/audio")).status == 404
    logged = await audit.entries(stack.db, actor="retention")
    assert [e.target for e in logged] == [str(gone.id)]

    await stack.client.delete("/api/session", headers={"X-CSRF-Token": csrf})
    assert (await stack.client.get("/api/recordings/storage")).status == 401
    await login(stack.client, "admin")
    use = await (await stack.client.get("/api/recordings/storage")).json()
    stored = [r for r in use["rows"] if r["state"] == "stored"]
    assert stored == [{"state": "stored", "format": "mp3", "count": 1, "bytes": kept.size_bytes}]
    assert use["store_bytes"] == kept.size_bytes


async def test_an_agent_pauses_and_resumes_the_recording_of_their_own_call(stack, clip):
    live = await stack.recorded_call("1795416380.12", clip, process=False)
    assert live.state is RecordingState.PENDING
    # a call still in progress: index a second call without ending it
    from tests.recording.calls import call_events

    start, _, _ = call_events("1795416380.13")
    for event in start:
        await stack.service.handle(event)
    csrf = await login(stack.client, "agent1001")
    paused = await stack.client.post(
        "/api/recordings/calls/1795416380.13/pause", headers={"X-CSRF-Token": csrf}
    )
    assert paused.status == 200, await paused.text()
    resumed = await stack.client.post(
        "/api/recordings/calls/1795416380.13/resume", headers={"X-CSRF-Token": csrf}
    )
    assert resumed.status == 200
    mutes = [r for r in stack.switch.requests if r[0] == "mixmonitor_mute"]
    assert [m[2]["mute"] for m in mutes] == [True, False]
    ended = await stack.client.post(
        "/api/recordings/calls/1795416380.12/pause", headers={"X-CSRF-Token": csrf}
    )
    assert ended.status == 404


async def test_a_wrap_up_saved_after_the_recording_links_its_customer_and_disposition(stack, clip):
    from crm.contacts import NewContact, record_contact
    from crm.customers import NewCustomer, create_customer
    from crm.kinds import Channel

    stored = await stack.recorded_call("1795416380.14", clip)
    await stack.recorded_call("1795416380.15", clip)
    assert stored.customer_id is None
    customer = await create_customer(stack.db, NewCustomer("Li Lei", phones=["13800138000"]))
    contact = await record_contact(
        stack.db,
        NewContact(
            customer, Channel.CALL_IN, agent="agent1001", call_id="1795416380.14", disposition="resolved"
        ),
    )
    stack.service.clock = lambda: T0 + timedelta(hours=1)

    assert await stack.service.link_contacts() == 1

    linked = await index.get_recording(stack.db, stored.id)
    assert (linked.customer_id, linked.contact_id, linked.disposition) == (customer, contact, "resolved")
    await login(stack.client, "supervisor")
    by_customer = await (await stack.client.get(f"/api/recordings?customer_id={customer}")).json()
    assert [r["id"] for r in by_customer["recordings"]] == [stored.id]
    by_disposition = await (await stack.client.get("/api/recordings?disposition=resolved")).json()
    assert [r["id"] for r in by_disposition["recordings"]] == [stored.id]


async def test_a_recording_still_being_made_cannot_be_scored_and_a_critical_failure_is_named(stack, clip):
    stored = await stack.recorded_call("1795416380.90", clip)
    ongoing = await stack.recorded_call("1795416380.91", clip, process=False)
    await index.update_recording(stack.db, ongoing.id, state=RecordingState.RECORDING)
    csrf = await login(stack.client, "supervisor")
    answers = {"greeting": True, "identity": False, "understood": 4, "accurate": 5, "hold": True}
    body = {"form": "standard", "answers": answers | {"summary": True, "courtesy": 5}}
    refused = await stack.client.post(
        f"/api/recordings/{ongoing.id}/reviews", json=body, headers={"X-CSRF-Token": csrf}
    )
    assert refused.status == 409
    assert "still being made" in (await refused.json())["message"]
    scored = await stack.client.post(
        f"/api/recordings/{stored.id}/reviews", json=body, headers={"X-CSRF-Token": csrf}
    )
    review = await scored.json()
    assert review["score"] == 0.0
    assert review["failed_critical"] == ["谈及账户前核实了来电人身份"]  # in the page's language


async def test_the_qa_form_reads_in_the_pages_language(stack):
    await login(stack.client, "supervisor")
    [chinese] = (await (await stack.client.get("/api/recordings/forms")).json())["forms"]
    assert chinese["title"] == "标准通话质检"
    assert chinese["sections"][0]["questions"][1]["text"] == "谈及账户前核实了来电人身份"
    stack.client.session.cookie_jar.update_cookies({"hotline_lang": "en"})
    [english] = (await (await stack.client.get("/api/recordings/forms")).json())["forms"]
    assert english["title"] == "Standard call review"
