"""SMS notices through Aliyun's API, against a local fake of it: the request signed as Aliyun
checks it, the topic's template, our rate limits and the provider's, the delivery receipt; and
the settings that choose it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from crm.customers import NewCustomer, create_customer
from crm.db import Database
from crm.kinds import Channel, NoticeTopic, OutboxStatus
from crm.models import OutboxMessage
from crm.notices import build_senders, check_unknown, deliver_due, enqueue_notice, subscribe
from crm.sms import AliyunSms, Delivery, aliyun_from_settings, receipt_of, sign
from hotline.settings import SettingsError, SmsSettings, load_settings
from tests.crm.fake_aliyun import FakeAliyun

NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def aliyun() -> AsyncIterator[tuple[FakeAliyun, str]]:
    fake = FakeAliyun()
    url = await fake.start()
    yield fake, url
    await fake.stop()


def settings(url: str, **changes: object) -> SmsSettings:
    sms = SmsSettings(
        provider="aliyun",
        access_key_id="LTAI-test",
        access_key_secret="test-secret",
        sign_name="热线客服",
        template_code="SMS_100",
        topic_templates=["ticket_progress=SMS_200"],
        endpoint=url,
        per_second=100.0,
        per_number_s=60.0,
    )
    for name, value in changes.items():
        setattr(sms, name, value)
    return sms


def provider(db: Database, url: str, clock: Clock, **changes: object) -> AliyunSms:
    sender = aliyun_from_settings(settings(url, **changes), db)
    assert sender is not None
    sender._clock = clock  # our rate limit's time
    sender._now = lambda: NOW
    return sender


async def sms_customer(db: Database, phone: str = "13800138000") -> int:
    customer_id = await create_customer(db, NewCustomer(name="王芳", phones=[phone]))
    await subscribe(db, customer_id, NoticeTopic.TICKET_PROGRESS, Channel.SMS, now=NOW)
    await subscribe(db, customer_id, NoticeTopic.OFFERS, Channel.SMS, now=NOW)
    return customer_id


async def notify(db: Database, customer_id: int, key: str, topic=NoticeTopic.TICKET_PROGRESS) -> None:
    await enqueue_notice(
        db, customer_id, topic, subject="工单进度", body=f"您的工单{key}已派单", dedupe_key=key, now=NOW
    )


async def outbox(db: Database) -> list[tuple[str, int]]:
    async with db.read() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    return [(r.status, r.attempts) for r in rows]


def test_the_signature_is_aliyuns_published_example():
    params = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }
    assert sign(params, "testSecret", "GET") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


async def test_a_notice_leaves_once_signed_with_its_topics_template_and_its_receipt_is_kept(
    db: Database, aliyun
):
    fake, url = aliyun
    sender = provider(db, url, Clock())
    customer_id = await sms_customer(db)
    await notify(db, customer_id, "T1")
    report = await deliver_due(db, build_senders("log", sms=sender), now=NOW)
    assert report.sent == 1 and fake.refused == []
    [sent] = fake.sent
    assert (sent.number, sent.sign_name, sent.template) == ("13800138000", "热线客服", "SMS_200")
    assert sent.params == {"content": "您的工单T1已派单"}
    assert (await deliver_due(db, build_senders("log", sms=sender), now=NOW + timedelta(hours=1))).sent == 0
    assert len(fake.sent) == 1  # never twice
    outbox_id = int(sent.out_id)
    assert (await receipt_of(db, outbox_id)).delivery == Delivery.PENDING  # type: ignore[union-attr]

    assert await sender.poll_receipts() == 0  # the handset has not answered yet
    fake.delivery[sent.biz_id] = ("3", "")
    assert await sender.poll_receipts() == 1
    receipt = await receipt_of(db, outbox_id)
    assert receipt is not None and (receipt.delivery, receipt.provider_ref) == (
        Delivery.DELIVERED,
        sent.biz_id,
    )


async def test_a_failed_delivery_receipt_keeps_the_handsets_error(db: Database, aliyun):
    fake, url = aliyun
    sender = provider(db, url, Clock())
    await notify(db, await sms_customer(db), "T1", topic=NoticeTopic.OFFERS)
    await deliver_due(db, build_senders("log", sms=sender), now=NOW)
    [sent] = fake.sent
    assert sent.template == "SMS_100"  # a topic without its own template: the default one
    fake.delivery[sent.biz_id] = ("2", "MOBILE_NOT_ON_SERVICE")
    assert await sender.poll_receipts() == 1
    receipt = await receipt_of(db, int(sent.out_id))
    assert receipt is not None and (receipt.delivery, receipt.error) == (
        Delivery.FAILED,
        "MOBILE_NOT_ON_SERVICE",
    )


async def test_our_rate_limit_holds_the_second_message_to_a_number_and_the_outbox_sends_it_later(
    db: Database, aliyun
):
    fake, url = aliyun
    clock = Clock()
    sender = provider(db, url, clock)
    customer_id = await sms_customer(db)
    await notify(db, customer_id, "T1")
    await notify(db, customer_id, "T2")
    first = await deliver_due(
        db, build_senders("log", sms=sender), now=NOW, retry_after=timedelta(seconds=60)
    )
    assert (first.sent, first.retrying) == (1, 1)
    assert len(fake.sent) == 1 and fake.refused == []  # held on our side, never asked
    clock.now += 61
    later = await deliver_due(db, build_senders("log", sms=sender), now=NOW + timedelta(seconds=61))
    assert later.sent == 1
    assert [s.params["content"] for s in fake.sent] == ["您的工单T1已派单", "您的工单T2已派单"]
    assert await outbox(db) == [(OutboxStatus.SENT.value, 1), (OutboxStatus.SENT.value, 2)]


async def test_the_providers_flow_control_is_retried_and_nothing_is_sent_twice(db: Database, aliyun):
    fake, url = aliyun
    fake.limit_per_number = 0
    clock = Clock()
    sender = provider(db, url, clock)
    await notify(db, await sms_customer(db), "T1")
    report = await deliver_due(
        db, build_senders("log", sms=sender), now=NOW, retry_after=timedelta(minutes=1)
    )
    assert report.retrying == 1 and fake.refused == ["isv.BUSINESS_LIMIT_CONTROL"]
    fake.limit_per_number = 100
    clock.now += 61  # our own per-number gap counts the refused attempt too
    assert (await deliver_due(db, build_senders("log", sms=sender), now=NOW + timedelta(minutes=1))).sent == 1
    assert len(fake.sent) == 1


async def test_a_wrong_secret_is_refused_by_the_signature_check_and_nothing_is_sent(db: Database, aliyun):
    fake, url = aliyun
    sender = provider(db, url, Clock(), access_key_secret="not-the-secret")
    await notify(db, await sms_customer(db), "T1")
    report = await deliver_due(db, build_senders("log", sms=sender), now=NOW)
    assert report.retrying == 1 and fake.sent == []
    assert fake.refused == ["SignatureDoesNotMatch"]
    async with db.read() as session:
        row = await session.scalar(select(OutboxMessage))
    assert row is not None and "SignatureDoesNotMatch" in (row.last_error or "")


def test_without_a_provider_sms_stays_in_the_log_and_a_half_configured_one_says_what_is_missing(tmp_path):
    assert aliyun_from_settings(SmsSettings()) is None
    with pytest.raises(ValueError, match="access_key_secret, sign_name"):
        aliyun_from_settings(SmsSettings(provider="aliyun", access_key_id="x", template_code="SMS_1"))
    with pytest.raises(ValueError, match="unknown"):
        aliyun_from_settings(SmsSettings(provider="twilio"))
    with pytest.raises(ValueError, match="topic=TEMPLATE_CODE"):
        aliyun_from_settings(settings("http://127.0.0.1/", topic_templates=["offers"]))
    config = tmp_path / "hotline.toml"
    config.write_text(
        '[sms]\nprovider = "aliyun"\naccess_key_id = "LTAI"\nsign_name = "热线客服"\n'
        'template_code = "SMS_1"\ntopic_templates = ["offers=SMS_2"]\n',
        encoding="utf-8",
    )
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n", encoding="utf-8")
    loaded = load_settings(config, {"HOTLINE_SMS_ACCESS_KEY_SECRET_FILE": str(secret)})
    assert loaded.sms.access_key_secret == "s3cret" and "s3cret" not in repr(loaded)
    sender = aliyun_from_settings(loaded.sms)
    assert sender is not None and sender.config.template_for("offers") == "SMS_2"
    with pytest.raises(SettingsError):
        load_settings(config, {"HOTLINE_SMS_PER_SECOND": "fast"})


def losing_answers(db: Database, url: str) -> AliyunSms:
    """A provider client that gives up on an answer after 0.3 s, with no gap per number."""
    sender = provider(db, url, Clock(), per_number_s=0.0)
    sender._clock = time.monotonic  # the request rate: real time
    sender.config = replace(sender.config, timeout_s=0.3)
    return sender


async def test_a_send_whose_answer_is_lost_is_found_at_the_provider_and_never_sent_twice(
    db: Database, aliyun
):
    fake, url = aliyun
    fake.stall = "after_accept"
    sender = losing_answers(db, url)
    senders = build_senders("log", sms=sender)
    await notify(db, await sms_customer(db), "T1")
    report = await deliver_due(db, senders, now=NOW)
    assert (report.sent, report.retrying, report.unknown) == (0, 0, 1)
    assert len(fake.sent) == 1 and await outbox(db) == [(OutboxStatus.UNKNOWN.value, 1)]
    assert (await deliver_due(db, senders, now=NOW + timedelta(hours=1))).sent == 0  # not retried blindly
    assert (await check_unknown(db, senders, now=NOW + timedelta(seconds=30))).sent == 0  # too soon to ask
    settled = await check_unknown(db, senders, now=NOW + timedelta(minutes=3))
    assert (settled.sent, settled.retrying) == (1, 0)
    assert await outbox(db) == [(OutboxStatus.SENT.value, 1)]
    assert len(fake.sent) == 1  # found by its OutId, not sent again
    [sent] = fake.sent
    receipt = await receipt_of(db, int(sent.out_id))
    assert receipt is not None and receipt.delivery == Delivery.PENDING
    fake.delivery[sent.biz_id] = ("3", "")
    assert await sender.poll_receipts() == 1  # its receipt is asked for by its OutId
    assert (await receipt_of(db, int(sent.out_id))).delivery == Delivery.DELIVERED  # type: ignore[union-attr]


async def test_a_send_the_provider_never_took_is_sent_again_once_it_says_so(db: Database, aliyun):
    fake, url = aliyun
    fake.stall = "before_accept"
    sender = losing_answers(db, url)
    senders = build_senders("log", sms=sender)
    await notify(db, await sms_customer(db), "T1")
    assert (await deliver_due(db, senders, now=NOW)).unknown == 1
    assert fake.sent == []
    fake.stall, fake.down = "", True  # the provider cannot be asked: it stays unknown
    later = NOW + timedelta(minutes=3)
    assert (await check_unknown(db, senders, now=later)).unknown == 1
    assert await outbox(db) == [(OutboxStatus.UNKNOWN.value, 1)]
    fake.down = False
    assert (await check_unknown(db, senders, now=later + timedelta(minutes=1))).unknown == 0  # asked later
    settled = await check_unknown(db, senders, now=later + timedelta(minutes=3))
    assert settled.retrying == 1
    assert (await deliver_due(db, senders, now=later + timedelta(minutes=3))).sent == 1
    assert len(fake.sent) == 1
    assert await outbox(db) == [(OutboxStatus.SENT.value, 2)]


async def test_a_garbled_answer_is_an_unknown_outcome_and_an_unreachable_provider_a_refusal(
    db: Database, aliyun
):
    fake, url = aliyun
    fake.down = True
    sender = losing_answers(db, url)
    customer_id = await sms_customer(db)
    await notify(db, customer_id, "T1")
    assert (await deliver_due(db, build_senders("log", sms=sender), now=NOW)).unknown == 1
    await fake.stop()
    await notify(db, customer_id, "T2")
    report = await deliver_due(db, build_senders("log", sms=sender), now=NOW)
    assert report.retrying == 1  # never connected: definitely not sent, tried again later
