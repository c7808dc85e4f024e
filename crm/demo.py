"""Demo data: realistic Chinese customers, numbers, contacts, tickets (half of their customers
told of its progress by SMS and mail, so the outbox has work), two online campaigns and the usual
contact rules, reproducible from a seed (Faker zh_CN)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from faker import Faker
from sqlalchemy import func, insert, select

from crm import campaigns as campaign_store
from crm.campaigns import NewCampaign, NewQuestion
from crm.db import Database, utcnow
from crm.import_store import insert_customer_rows
from crm.kinds import (
    CampaignKind,
    CampaignStatus,
    Channel,
    Disposition,
    NoticeTopic,
    Purpose,
    QuestionKind,
    TicketKind,
)
from crm.models import Campaign, Contact, Customer, CustomerPhone, Ticket
from crm.notices import subscribe
from crm.phones import try_normalize_phone
from crm.reporting.facts import count_contacts, upsert_contact_counts
from crm.sla import SHANGHAI, ChinaWorkCalendar
from crm.tickets import NewTicket, close_ticket, open_ticket, record_evaluation, resolve_ticket

SEGMENTS = ("regular", "regular", "regular", "silver", "gold", "platinum")
TAGS = ("宽带", "电视", "手机", "宠物", "老人", "学生", "商户", "投诉倾向")
AGENTS = tuple(f"80{n:02d}" for n in range(1, 17))
DISPOSITIONS = (Disposition.RESOLVED, Disposition.INFO, Disposition.FOLLOW_UP)
ASSIGNEES = ("张工", "李工", "王工", "赵工", "投诉组", "账务组")
CONTACT_CHANNELS = (
    Channel.CALL_IN,
    Channel.CALL_IN,
    Channel.CALL_IN,
    Channel.CALL_OUT,
    Channel.SMS,
    Channel.WEB,
)


@dataclass(frozen=True, slots=True)
class DemoReport:
    customers: int
    contacts: int
    tickets: int
    campaigns: int


async def load_demo_data(
    db: Database, customers: int, *, seed: int = 4008, now: datetime | None = None, tz: tzinfo = SHANGHAI
) -> DemoReport:
    now = now or utcnow()
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    rows: list[tuple[int, tuple[Any, ...], list[tuple[str, str]]]] = []
    seen: set[str] = set()
    while len(rows) < customers:
        number = try_normalize_phone(fake.phone_number())
        if number is None or number.e164 in seen:
            continue
        seen.add(number.e164)
        phones = [(number.e164, number.kind.value)]
        if rng.random() < 0.2:
            landline = try_normalize_phone(f"010{rng.randrange(20_000_000, 89_999_999)}")
            if landline is not None and landline.e164 not in seen:
                seen.add(landline.e164)
                phones.append((landline.e164, landline.kind.value))
        segment = rng.choice(SEGMENTS)
        values = (
            fake.name(),
            segment,
            {"regular": 0, "silver": 1, "gold": 2, "platinum": 3}[segment],
            rng.sample(TAGS, rng.randrange(0, 3)),
            rng.random() < 0.6,
            rng.random() < 0.7,
            rng.random() < 0.4,
            "zh-CN",
            rng.choice(AGENTS) if segment in ("gold", "platinum") else None,
            fake.free_email() if rng.random() < 0.5 else None,
            fake.ssn(),
            fake.address(),
        )
        rows.append((len(rows) + 2, values, phones))
    await insert_customer_rows(db, rows, now)
    first_id = await _first_new_id(db, customers)
    contacts = []
    for customer_id in range(first_id, first_id + customers):
        for _ in range(rng.randrange(0, 6)):
            contacts.append(
                {
                    "customer_id": customer_id,
                    "channel": rng.choice(CONTACT_CHANNELS).value,
                    "purpose": Purpose.SERVICE.value,
                    "at": now - timedelta(minutes=rng.randrange(1, 60 * 24 * 120)),
                    "agent": rng.choice(AGENTS),
                    "disposition": rng.choice(DISPOSITIONS).value,
                    "note": "",
                }
            )
    async with db.write() as session:
        connection = await session.connection()
        for start in range(0, len(contacts), 20_000):
            await connection.execute(insert(Contact), contacts[start : start + 20_000])
        await upsert_contact_counts(session, count_contacts(contacts, tz), is_sqlite=db.is_sqlite)
    ticket_count = max(1, customers // 50) if customers else 0
    chosen = rng.sample(range(first_id, first_id + customers), min(ticket_count, customers))
    for n, customer_id in enumerate(chosen):
        if n % 2 == 0:  # half of them follow their ticket by SMS (and mail): the outbox has work
            await _subscribe_to_ticket_progress(db, customer_id, now - timedelta(days=30))
        await _ticket_history(db, rng, customer_id, now, tz)
    campaigns = await _campaigns(db)
    return DemoReport(customers, len(contacts), ticket_count, campaigns)


async def _first_new_id(db: Database, count: int) -> int:
    async with db.read() as session:
        last = await session.scalar(select(func.max(Customer.id)))
    return int(last or 0) - count + 1


async def _campaigns(db: Database) -> int:
    async with db.read() as session:
        if await session.scalar(select(func.count()).select_from(Campaign)):
            return 0  # a second run adds customers, not another copy of the campaigns and rules
    upgrade = await campaign_store.create_campaign(
        db,
        NewCampaign(
            name="宽带提速 500M",
            kind=CampaignKind.MARKETING,
            channels=[Channel.CALL_IN, Channel.CALL_OUT, Channel.SMS],
            target_rule='vip_level >= 1 and "宽带" in tags and not has_open_complaint',
            priority=5,
            script="您好，感谢您一直使用我们的宽带。现在可以免费提速到 500M，您看需要为您办理吗？",
            offer_text="宽带免费提速 500M，12 个月",
        ),
    )
    survey = await campaign_store.create_campaign(
        db,
        NewCampaign(
            name="服务满意度问卷",
            kind=CampaignKind.QUESTIONNAIRE,
            channels=[Channel.CALL_IN, Channel.CALL_OUT],
            target_rule="contacts_30d >= 1",
            script="耽误您一分钟，想请您对我们的服务打个分。",
            questions=[
                NewQuestion("您对本次服务满意吗？", QuestionKind.SCALE, scale_min=1, scale_max=5),
                NewQuestion("您最常用哪些业务？", QuestionKind.MULTIPLE, choices=["宽带", "电视", "手机"]),
                NewQuestion("还有什么建议？", QuestionKind.TEXT),
            ],
        ),
    )
    for campaign_id in (upgrade, survey):
        await campaign_store.set_campaign_status(db, campaign_id, CampaignStatus.ONLINE)
    await campaign_store.save_frequency_cap(db, "每 7 天最多 1 次营销", 1, 7)
    await campaign_store.save_frequency_cap(db, "每 30 天最多 3 次营销", 3, 30)
    await campaign_store.save_quiet_hours(
        db, "夜间免打扰", time(21), time(8), [Channel.CALL_OUT, Channel.SMS]
    )
    return 2


async def demo_caller_numbers(db: Database, limit: int = 500) -> list[str]:
    """Numbers of known customers, as a caller ID shows them (mainland numbers without +86),
    so that simulated callers reach screen-pops with a customer card."""
    async with db.read() as session:
        rows = await session.scalars(select(CustomerPhone.e164).order_by(CustomerPhone.id).limit(limit))
        return [number.removeprefix("+86") for number in rows]


async def demo_ticket_numbers(db: Database, limit: int = 200) -> list[str]:
    """Ticket numbers as a caller types them on the phone's keypad (digits only, no ``T``), so
    that simulated callers asking the IVR for a ticket's status find a real one."""
    async with db.read() as session:
        rows = await session.scalars(select(Ticket.number).where(Ticket.number.is_not(None)).limit(limit))
        return ["".join(c for c in number if c.isdigit()) for number in rows if number]


async def _subscribe_to_ticket_progress(db: Database, customer_id: int, since: datetime) -> None:
    async with db.read() as session:
        email = await session.scalar(select(Customer.email).where(Customer.id == customer_id))
    await subscribe(db, customer_id, NoticeTopic.TICKET_PROGRESS, Channel.SMS, now=since)
    if email:
        await subscribe(db, customer_id, NoticeTopic.TICKET_PROGRESS, Channel.EMAIL, now=since)


async def _ticket_history(
    db: Database, rng: random.Random, customer_id: int, now: datetime, tz: tzinfo
) -> None:
    """One ticket of the last two weeks, carried as far as its age allows: most are resolved,
    evaluated and closed within three working days, some late, the newest still open."""
    opened_at = now - timedelta(hours=rng.uniform(1, 24 * 14))
    ref = await open_ticket(
        db,
        NewTicket(
            customer_id,
            rng.choice(list(TicketKind)),
            rng.choice(("宽带断线", "资费咨询", "装机预约", "账单疑问", "网速慢")),
            opened_by=rng.choice(AGENTS),
            assignee=rng.choice(ASSIGNEES) if rng.random() < 0.8 else None,
        ),
        calendar=ChinaWorkCalendar(),
        now=opened_at,
        tz=tz,
    )
    age_h = (now - opened_at).total_seconds() / 3600
    resolve_after_h = rng.choice((2.0, 6.0, 20.0, 30.0, 50.0, 90.0, 130.0, 170.0))
    if resolve_after_h + 2 > age_h:
        return  # still being worked on
    resolved_at = opened_at + timedelta(hours=resolve_after_h)
    await resolve_ticket(db, ref.id, actor="demo", note="已处理", now=resolved_at)
    if rng.random() < 0.15:
        return  # resolved, waiting for the customer's evaluation
    evaluated_at = resolved_at + timedelta(hours=1)
    score = rng.choices((5, 4, 3, 2, 1), weights=(45, 30, 15, 6, 4))[0]
    await record_evaluation(db, ref.id, score, now=evaluated_at)
    await close_ticket(db, ref.id, actor="demo", now=evaluated_at + timedelta(minutes=30))
