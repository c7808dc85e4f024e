"""SMS through a provider's HTTP API: Aliyun SMS (dysmsapi) implemented, others plug in beside it.

``AliyunSms`` is a :class:`crm.notices.NoticeSender`: it signs each request (RPC signature,
HMAC-SHA1 over the sorted parameters), sends the notice's text as the ``content`` variable of the
template configured for its topic, under the registered signature (签名), and keeps the provider's
BizId so that the delivery receipt can be asked for later (``poll_receipts``: QuerySendDetails).

Rate limits are kept on our side before the provider refuses: at most ``per_second`` requests a
second across numbers, and one message per number every ``per_number_s``. A message held back by
a limit, or refused by the provider's own flow control (isv.BUSINESS_LIMIT_CONTROL), raises
:class:`SmsRefused`, which the outbox retries later; it was definitely not sent. Once the provider
has accepted a message nothing raises, so the outbox never sends it twice.

A request that may have reached the provider without its answer reaching us (a timeout, a
dropped connection, a garbled answer) raises :class:`crm.notices.SendOutcomeUnknown`: the outbox
does not retry it but asks later (``was_accepted``) whether the provider lists a message with
the outbox id as its OutId — sent, or never received and safe to send again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Protocol

import aiohttp
from sqlalchemy import ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import Database, utcnow
from crm.models import Base, UtcDateTime
from crm.notices import Notice, SendOutcomeUnknown

log = logging.getLogger(__name__)

ALIYUN_ENDPOINT = "https://dysmsapi.aliyuncs.com/"
ALIYUN_VERSION = "2017-05-25"
RECEIPT_WINDOW = timedelta(days=3)  # the provider keeps send details for a few days only
CHINA = timezone(timedelta(hours=8))  # the provider's SendDate is a mainland calendar day


class SmsRefused(Exception):
    """The message was not sent (a limit, a refusal); the outbox may try again later."""


class Delivery:
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class SmsReceiptRow(Base):
    """One SMS the provider accepted, and what its delivery receipt said."""

    __tablename__ = "sms_receipts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"), unique=True)
    provider: Mapped[str] = mapped_column(String(20))
    provider_ref: Mapped[str] = mapped_column(String(100), index=True)
    delivery: Mapped[str] = mapped_column(String(12), default=Delivery.PENDING)
    error: Mapped[str] = mapped_column(String(200), default="")
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reported_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


@dataclass(frozen=True, slots=True)
class AliyunConfig:
    access_key_id: str
    access_key_secret: str
    sign_name: str  # the registered signature shown before the text, e.g. 【某某客服】
    template_code: str  # a template with one variable ${content}
    topic_templates: Mapping[str, str] = None  # type: ignore[assignment]  # topic → template code
    endpoint: str = ALIYUN_ENDPOINT
    region: str = "cn-hangzhou"
    per_second: float = 10.0
    per_number_s: float = 60.0
    timeout_s: float = 10.0

    def template_for(self, topic: str) -> str:
        return (self.topic_templates or {}).get(topic) or self.template_code


def percent_encode(text: str) -> str:
    """Aliyun's encoding: RFC 3986, space as %20, ``~`` kept."""
    return urllib.parse.quote(text, safe="~")


def sign(params: Mapping[str, str], secret: str, method: str = "POST") -> str:
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signed_params(
    config: AliyunConfig, action: str, extra: Mapping[str, str], *, now: datetime, nonce: str
) -> dict[str, str]:
    params = {
        "AccessKeyId": config.access_key_id,
        "Action": action,
        "Format": "JSON",
        "RegionId": config.region,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": nonce,
        "SignatureVersion": "1.0",
        "Timestamp": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Version": ALIYUN_VERSION,
        **extra,
    }
    params["Signature"] = sign(params, config.access_key_secret)
    return params


class RateLimit:
    """Requests per second overall, and a minimum gap per number. Pure: the caller says when."""

    def __init__(self, per_second: float, per_number_s: float) -> None:
        self._gap = 1.0 / per_second if per_second > 0 else 0.0
        self._per_number_s = per_number_s
        self._next_any = 0.0
        self._last_to: dict[str, float] = {}

    def admit(self, number: str, now: float) -> str:
        """Empty when this message may go now; else why not (and it is not counted)."""
        if now < self._next_any:
            return "over the provider's request rate"
        last = self._last_to.get(number)
        if last is not None and now - last < self._per_number_s:
            return f"one message per number every {self._per_number_s:g} s"
        self._next_any = now + self._gap
        self._last_to[number] = now
        if len(self._last_to) > 50_000:
            cutoff = now - self._per_number_s
            self._last_to = {n: t for n, t in self._last_to.items() if t >= cutoff}
        return ""


class AliyunSms:
    name = "aliyun"

    def __init__(
        self,
        config: AliyunConfig,
        db: Database | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.config = config
        self.db = db
        self._clock = clock
        self._now = now
        self._limit = RateLimit(config.per_second, config.per_number_s)

    async def call(self, action: str, extra: Mapping[str, str]) -> dict[str, object]:
        params = signed_params(self.config, action, extra, now=self._now(), nonce=uuid.uuid4().hex)
        timeout = aiohttp.ClientTimeout(total=self.config.timeout_s)
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.post(self.config.endpoint, data=params) as response,
        ):
            text = await response.text()
        # Not the provider's own JSON (a gateway's error page): whether it acted is not known.
        try:
            answer = json.loads(text)
        except ValueError:
            raise SendOutcomeUnknown(f"provider answered {response.status} without JSON") from None
        if not isinstance(answer, dict):
            raise SendOutcomeUnknown(f"provider answered {response.status} with {type(answer).__name__}")
        return answer

    async def send(self, notice: object) -> None:
        number = str(getattr(notice, "address", ""))
        held = self._limit.admit(number, self._clock())
        if held:
            raise SmsRefused(held)
        try:
            answer = await self._send_sms(notice, number)
        except aiohttp.ClientConnectorError as exc:  # never connected: nothing reached it
            raise SmsRefused(f"provider unreachable: {exc}"[:300]) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise SendOutcomeUnknown(f"no answer from the provider ({type(exc).__name__})") from None
        if answer.get("Code") != "OK":
            raise SmsRefused(f"{answer.get('Code')}: {answer.get('Message', '')}"[:300])
        # Accepted: from here on nothing raises, or the outbox would send it again.
        await self._keep_receipt(
            int(getattr(notice, "id", 0)), str(answer.get("BizId") or ""), Delivery.PENDING, ""
        )

    async def _send_sms(self, notice: object, number: str) -> dict[str, object]:
        return await self.call(
            "SendSms",
            {
                "PhoneNumbers": number.removeprefix("+86").lstrip("+"),
                "SignName": self.config.sign_name,
                "TemplateCode": self.config.template_for(str(getattr(notice, "topic", ""))),
                "TemplateParam": json.dumps(
                    {"content": str(getattr(notice, "body", ""))}, ensure_ascii=False
                ),
                "OutId": str(getattr(notice, "id", "")),
            },
        )

    async def _keep_receipt(self, outbox_id: int, biz_id: str, delivery: str, error: str) -> None:
        """Remember a message the provider took, for its delivery receipt; never raises."""
        if self.db is None:
            return
        try:
            async with self.db.write() as session:
                session.add(
                    SmsReceiptRow(
                        outbox_id=outbox_id,
                        provider=self.name,
                        provider_ref=biz_id,  # empty: found by OutId, asked for by it
                        delivery=delivery,
                        error=error[:200],
                        sent_at=self._now(),
                        reported_at=None if delivery == Delivery.PENDING else self._now(),
                    )
                )
        except Exception:
            log.exception("sms_receipt_not_kept", extra={"kv": {"outbox_id": outbox_id}})

    async def was_accepted(self, notice: Notice, *, since: datetime) -> bool | None:
        """Whether the provider lists a message to the notice's number with its outbox id as
        OutId, on any day since ``since`` (within the days it keeps); None when it cannot say."""
        number = notice.address.removeprefix("+86").lstrip("+")
        now = self._now()
        for day in _send_dates(max(since, now - RECEIPT_WINDOW), now):
            try:
                answer = await self.call(
                    "QuerySendDetails",
                    {"PhoneNumber": number, "SendDate": day, "PageSize": "50", "CurrentPage": "1"},
                )
            except (SmsRefused, SendOutcomeUnknown, aiohttp.ClientError, TimeoutError) as exc:
                log.warning("sms_status_query_failed", extra={"kv": {"error": str(exc)[:200]}})
                return None
            if answer.get("Code") != "OK":
                log.warning("sms_status_query_refused", extra={"kv": {"code": str(answer.get("Code"))}})
                return None
            detail = _detail_for(answer, str(notice.id))
            if detail is not None:
                delivery, error = _delivery_in(detail)
                await self._keep_receipt(notice.id, "", delivery, error)
                return True
        return False

    async def poll_receipts(self, *, limit: int = 100) -> int:
        """Ask for the delivery of messages still pending; returns how many got their answer."""
        if self.db is None:
            return 0
        from crm.models import OutboxMessage

        now = self._now()
        async with self.db.read() as session:
            rows = (
                await session.execute(
                    select(
                        SmsReceiptRow.id,
                        SmsReceiptRow.outbox_id,
                        SmsReceiptRow.provider_ref,
                        SmsReceiptRow.sent_at,
                        OutboxMessage.address,
                    )
                    .join(OutboxMessage, OutboxMessage.id == SmsReceiptRow.outbox_id)
                    .where(
                        SmsReceiptRow.delivery == Delivery.PENDING,
                        SmsReceiptRow.provider == self.name,
                        SmsReceiptRow.sent_at > now - RECEIPT_WINDOW,
                    )
                    .order_by(SmsReceiptRow.id)
                    .limit(limit)
                )
            ).all()
        answered = 0
        for row in rows:
            query = {
                "PhoneNumber": row.address.removeprefix("+86").lstrip("+"),
                "SendDate": row.sent_at.astimezone(UTC).strftime("%Y%m%d"),
                "PageSize": "50",
                "CurrentPage": "1",
            }
            if row.provider_ref:
                query["BizId"] = row.provider_ref
            try:
                answer = await self.call("QuerySendDetails", query)
            except (SmsRefused, SendOutcomeUnknown, aiohttp.ClientError, TimeoutError) as exc:
                log.warning("sms_receipt_query_failed", extra={"kv": {"error": str(exc)[:200]}})
                break
            detail = _detail_for(answer, str(row.outbox_id), any_one=bool(row.provider_ref))
            status, error = _delivery_in(detail) if detail is not None else (Delivery.PENDING, "")
            if status == Delivery.PENDING:
                continue
            async with self.db.write() as session:
                receipt = await session.get(SmsReceiptRow, row.id)
                if receipt is not None:
                    receipt.delivery = status
                    receipt.error = error[:200]
                    receipt.reported_at = now
            answered += 1
        return answered


def _detail_for(answer: Mapping[str, object], out_id: str, *, any_one: bool = False) -> Mapping | None:
    """The send detail (QuerySendDetails) of the message sent with ``out_id`` as its OutId; with
    ``any_one`` (asked by BizId: one message) the first detail when none names an OutId."""
    if answer.get("Code") != "OK":
        return None
    details = answer.get("SmsSendDetailDTOs") or {}
    found = details.get("SmsSendDetailDTO") if isinstance(details, dict) else None
    if not isinstance(found, list):
        return None
    found = [d for d in found if isinstance(d, dict)]
    for detail in found:
        if str(detail.get("OutId", "")) == out_id:
            return detail
    if any_one and found and all(not d.get("OutId") for d in found):
        return found[0]
    return None


def _delivery_in(detail: Mapping) -> tuple[str, str]:
    """SendStatus 1 waiting, 2 failed, 3 delivered."""
    status = str(detail.get("SendStatus", ""))
    if status == "3":
        return Delivery.DELIVERED, ""
    if status == "2":
        return Delivery.FAILED, str(detail.get("ErrCode", ""))
    return Delivery.PENDING, ""


def _send_dates(since: datetime, until: datetime) -> list[str]:
    """The provider's SendDate values (yyyyMMdd) a message sent between the two could carry,
    on the mainland calendar and on UTC's, oldest first."""
    days: set[date] = set()
    for zone in (CHINA, UTC):
        day, last = since.astimezone(zone).date(), until.astimezone(zone).date()
        while day <= last:
            days.add(day)
            day += timedelta(days=1)
    return [d.strftime("%Y%m%d") for d in sorted(days)]


class SmsSettingsLike(Protocol):
    """hotline.settings.SmsSettings, as far as the CRM reads it."""

    provider: str
    access_key_id: str
    access_key_secret: str
    sign_name: str
    template_code: str
    topic_templates: list[str]
    endpoint: str
    per_second: float
    per_number_s: float


def aliyun_from_settings(sms: SmsSettingsLike, db: Database | None = None) -> AliyunSms | None:
    """The SMS sender ``[sms]`` asks for: None for no provider (SMS notices go to the log);
    ValueError naming what is missing when the provider cannot be used as configured."""
    if not sms.provider:
        return None
    if sms.provider != "aliyun":
        raise ValueError(f"[sms] provider {sms.provider!r} is unknown: leave it empty or use aliyun")
    wanted = {
        "access_key_id": sms.access_key_id,
        "access_key_secret": sms.access_key_secret,
        "sign_name": sms.sign_name,
        "template_code": sms.template_code,
    }
    missing = [name for name, value in wanted.items() if not value]
    if missing:
        raise ValueError(f"[sms] provider aliyun needs {', '.join(missing)} (see docs/notices.md)")
    topics: dict[str, str] = {}
    for entry in sms.topic_templates:
        topic, _, code = entry.partition("=")
        if not topic.strip() or not code.strip():
            raise ValueError(f"[sms] topic_templates entry {entry!r} is not 'topic=TEMPLATE_CODE'")
        topics[topic.strip()] = code.strip()
    config = AliyunConfig(
        access_key_id=sms.access_key_id,
        access_key_secret=sms.access_key_secret,
        sign_name=sms.sign_name,
        template_code=sms.template_code,
        topic_templates=topics,
        endpoint=sms.endpoint,
        per_second=sms.per_second,
        per_number_s=sms.per_number_s,
    )
    return AliyunSms(config, db)


@dataclass(frozen=True, slots=True)
class ReceiptView:
    outbox_id: int
    provider_ref: str
    delivery: str
    error: str


async def receipt_of(db: Database, outbox_id: int) -> ReceiptView | None:
    async with db.read() as session:
        row = await session.scalar(select(SmsReceiptRow).where(SmsReceiptRow.outbox_id == outbox_id))
    return None if row is None else ReceiptView(row.outbox_id, row.provider_ref, row.delivery, row.error)
