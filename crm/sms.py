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
from datetime import UTC, datetime, timedelta
from typing import Protocol

import aiohttp
from sqlalchemy import ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import Database, utcnow
from crm.models import Base, UtcDateTime

log = logging.getLogger(__name__)

ALIYUN_ENDPOINT = "https://dysmsapi.aliyuncs.com/"
ALIYUN_VERSION = "2017-05-25"
RECEIPT_WINDOW = timedelta(days=3)  # the provider keeps send details for a few days only


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
        try:
            answer = json.loads(text)
        except ValueError:
            raise SmsRefused(f"provider answered {response.status} without JSON") from None
        if not isinstance(answer, dict):
            raise SmsRefused(f"provider answered {response.status} with {type(answer).__name__}")
        return answer

    async def send(self, notice: object) -> None:
        number = str(getattr(notice, "address", ""))
        held = self._limit.admit(number, self._clock())
        if held:
            raise SmsRefused(held)
        answer = await self.call(
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
        if answer.get("Code") != "OK":
            raise SmsRefused(f"{answer.get('Code')}: {answer.get('Message', '')}"[:300])
        # Accepted: from here on nothing raises, or the outbox would send it again.
        biz_id = str(answer.get("BizId") or "")
        if self.db is not None and biz_id:
            try:
                async with self.db.write() as session:
                    session.add(
                        SmsReceiptRow(
                            outbox_id=int(getattr(notice, "id", 0)),
                            provider=self.name,
                            provider_ref=biz_id,
                            delivery=Delivery.PENDING,
                            error="",
                            sent_at=self._now(),
                        )
                    )
            except Exception:
                log.exception("sms_receipt_not_kept", extra={"kv": {"outbox_id": getattr(notice, "id", "")}})

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
            try:
                answer = await self.call(
                    "QuerySendDetails",
                    {
                        "PhoneNumber": row.address.removeprefix("+86").lstrip("+"),
                        "BizId": row.provider_ref,
                        "SendDate": row.sent_at.astimezone(UTC).strftime("%Y%m%d"),
                        "PageSize": "10",
                        "CurrentPage": "1",
                    },
                )
            except (SmsRefused, aiohttp.ClientError, TimeoutError) as exc:
                log.warning("sms_receipt_query_failed", extra={"kv": {"error": str(exc)[:200]}})
                break
            status, error = _delivery_of(answer)
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


def _delivery_of(answer: Mapping[str, object]) -> tuple[str, str]:
    """SendStatus 1 waiting, 2 failed, 3 delivered (QuerySendDetails)."""
    if answer.get("Code") != "OK":
        return Delivery.PENDING, ""
    details = answer.get("SmsSendDetailDTOs") or {}
    found = details.get("SmsSendDetailDTO") if isinstance(details, dict) else None
    if not isinstance(found, list) or not found or not isinstance(found[0], dict):
        return Delivery.PENDING, ""
    status = str(found[0].get("SendStatus", ""))
    if status == "3":
        return Delivery.DELIVERED, ""
    if status == "2":
        return Delivery.FAILED, str(found[0].get("ErrCode", ""))
    return Delivery.PENDING, ""


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
