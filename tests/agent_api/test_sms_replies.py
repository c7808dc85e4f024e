"""The SMS provider's push of customers' texts: a "4" to the survey scores its call, audited;
a push without the site's token, or with a body not the provider's, is refused with a 4xx."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from crm import audit, call_surveys
from crm.contacts import NewContact, record_contact
from crm.customers import update_consent
from crm.kinds import Channel
from crm.models import Contact
from hotline.settings import Settings
from tests.agent_api.stack import CUSTOMER_PHONE, Stack

TOKEN = "a-site-token-for-the-provider-push"
CALL = "1796672734.4"


@pytest.fixture
async def stack(tmp_path: Path):
    settings = Settings()
    settings.sms.inbound_token = TOKEN
    s = await Stack(tmp_path, settings=settings).start()
    yield s
    await s.stop()


def push(*texts: tuple[str, str]) -> list[dict[str, object]]:
    return [
        {"phone_number": number, "content": text, "send_time": "2026-12-07 20:00:00", "dest_code": "01"}
        for number, text in texts
    ]


async def test_a_reply_of_four_scores_the_calls_contact_and_is_audited(stack: Stack) -> None:
    await update_consent(stack.db, stack.customer_id, sms=True)
    contact = await record_contact(
        stack.db, NewContact(stack.customer_id, Channel.CALL_IN, agent="agent1001", call_id=CALL)
    )
    assert isinstance(
        await call_surveys.queue_sms_survey(stack.db, CALL, CUSTOMER_PHONE), call_surveys.SmsSurveyQueued
    )
    response = await stack.client.post(
        f"/api/sms/replies?token={TOKEN}", json=push(("13900000000", "4"), (CUSTOMER_PHONE, "4分"))
    )
    assert response.status == 200, await response.text()
    assert await response.json() == {"code": 0, "msg": "成功", "scored": 1}
    async with stack.db.read() as session:
        assert await session.scalar(select(Contact.satisfaction).where(Contact.id == contact)) == 4
    [entry] = await audit.entries(stack.db, action="survey.sms_reply")
    assert (entry.actor, entry.target, entry.detail) == ("sms-provider", CALL, {"satisfaction": 4})
    # The same push again (the provider retries): nothing more is scored.
    again = await stack.client.post(f"/api/sms/replies?token={TOKEN}", json=push((CUSTOMER_PHONE, "1")))
    assert (await again.json())["scored"] == 0


@pytest.mark.parametrize(
    ("query", "body", "status"),
    [
        ("", push((CUSTOMER_PHONE, "4")), 403),
        ("?token=wrong", push((CUSTOMER_PHONE, "4")), 403),
        (f"?token={TOKEN}", {"phone_number": CUSTOMER_PHONE, "content": "4"}, 422),
        (f"?token={TOKEN}", [{"content": "4"}], 422),
        (f"?token={TOKEN}", push(("1" * 40, "4")), 422),
        (f"?token={TOKEN}&extra=1", push((CUSTOMER_PHONE, "4")), 400),
    ],
    ids=["no-token", "wrong-token", "not-a-list", "no-number", "number-too-long", "unknown-parameter"],
)
async def test_a_push_without_the_token_or_in_another_shape_is_refused(
    stack: Stack, query: str, body: object, status: int
) -> None:
    response = await stack.client.post(f"/api/sms/replies{query}", json=body)
    assert response.status == status, await response.text()
    assert await audit.entries(stack.db, action="survey.sms_reply") == ()


async def test_without_a_token_configured_no_replies_are_taken(tmp_path: Path) -> None:
    s = await Stack(tmp_path).start()
    try:
        response = await s.client.post("/api/sms/replies?token=", json=push((CUSTOMER_PHONE, "4")))
        assert response.status == 404
        document = await (await s.client.get("/api/openapi.json")).json()
        assert "post" in document["paths"]["/api/sms/replies"]
    finally:
        await s.stop()
