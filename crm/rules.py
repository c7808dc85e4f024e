"""Contact rules and eligibility: who may be offered which campaign now, on which channel.

Pure: the caller loads the customer's facts, contact history, online campaigns and the rules
analysts edited, and ``decide_offers`` returns the offers allowed and, for every other campaign,
the reasons it is not. Nothing here awaits, reads a clock or touches the database.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, tzinfo

from crm.errors import TargetRuleFailed
from crm.kinds import CampaignKind, CampaignStatus, Channel, Purpose


class Reason(enum.StrEnum):
    NOT_ONLINE = "not_online"
    OUTSIDE_SCHEDULE = "outside_schedule"
    CHANNEL_NOT_PLACED = "channel_not_placed"
    NOT_TARGETED = "not_targeted"
    DO_NOT_CONTACT = "do_not_contact"
    OPEN_COMPLAINT = "open_complaint"
    NO_MARKETING_CONSENT = "no_marketing_consent"
    NO_CHANNEL_CONSENT = "no_channel_consent"
    QUIET_HOURS = "quiet_hours"
    FREQUENCY_CAP = "frequency_cap"
    RULE_FAILED = "rule_failed"  # the target rule could not be evaluated: the campaign is disabled


@dataclass(frozen=True, slots=True)
class FrequencyCap:
    """At most ``max_count`` contacts of these purposes in ``window``, across all campaigns."""

    name: str
    max_count: int
    window: timedelta
    purposes: frozenset[Purpose] = frozenset({Purpose.MARKETING})
    channels: frozenset[Channel] = frozenset()  # empty: contacts on every channel count

    def counts(self, contact: PastContact) -> bool:
        return contact.purpose in self.purposes and (not self.channels or contact.channel in self.channels)


@dataclass(frozen=True, slots=True)
class QuietHours:
    """No campaign contact on these channels between ``start`` and ``end`` local time."""

    name: str
    start: time
    end: time
    channels: frozenset[Channel]

    def covers(self, local: time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


@dataclass(frozen=True, slots=True)
class ContactPolicy:
    caps: tuple[FrequencyCap, ...] = ()
    quiet_hours: tuple[QuietHours, ...] = ()


@dataclass(frozen=True, slots=True)
class PastContact:
    at: datetime
    channel: Channel
    purpose: Purpose
    campaign_id: int | None = None


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    customer_id: int
    consent_marketing: bool
    consent_sms: bool
    consent_email: bool
    do_not_contact: bool
    has_open_complaint: bool
    # Every field a target rule may read (crm.targeting.FIELD_TYPES).
    fields: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CampaignView:
    """A campaign as the rules see it; ``target`` is its compiled target rule, which raises
    :class:`TargetRuleFailed` when it cannot be evaluated for a customer."""

    id: int
    name: str
    kind: CampaignKind
    status: CampaignStatus
    channels: frozenset[Channel]
    target: Callable[[Mapping[str, object]], bool]
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    priority: int = 0
    script: str = ""
    offer_text: str = ""
    questions: tuple[object, ...] = ()


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: Reason
    detail: str


@dataclass(frozen=True, slots=True)
class Refused:
    campaign: CampaignView
    refusals: tuple[Refusal, ...]


@dataclass(frozen=True, slots=True)
class Decision:
    offers: tuple[CampaignView, ...]
    refused: tuple[Refused, ...]


_CAMPAIGN_OFF = frozenset({Reason.NOT_ONLINE, Reason.OUTSIDE_SCHEDULE, Reason.CHANNEL_NOT_PLACED})
_CHANNEL_CONSENT = {Channel.SMS: "consent_sms", Channel.EMAIL: "consent_email"}
_CAMPAIGN_KIND_PURPOSE = {kind: Purpose(kind.value) for kind in CampaignKind}


def decide_offers(
    customer: CustomerFacts,
    campaigns: Iterable[CampaignView],
    history: Iterable[PastContact],
    policy: ContactPolicy,
    channel: Channel,
    now: datetime,
    tz: tzinfo,
) -> Decision:
    """The campaigns this customer may be offered on ``channel`` at ``now``, best first."""
    history = tuple(history)
    cap_refusals = {cap: _cap_refusal(cap, history, now) for cap in policy.caps}
    local = now.astimezone(tz).time()
    quiet = [q for q in policy.quiet_hours if channel in q.channels and q.covers(local)]
    offers: list[CampaignView] = []
    refused: list[Refused] = []
    for campaign in campaigns:
        refusals = _refusals(customer, campaign, cap_refusals, quiet, channel, now)
        if refusals:
            refused.append(Refused(campaign, tuple(refusals)))
        else:
            offers.append(campaign)
    offers.sort(key=lambda c: (-c.priority, c.id))
    return Decision(tuple(offers), tuple(refused))


def _refusals(
    customer: CustomerFacts,
    campaign: CampaignView,
    cap_refusals: Mapping[FrequencyCap, Refusal | None],
    quiet: list[QuietHours],
    channel: Channel,
    now: datetime,
) -> list[Refusal]:
    out: list[Refusal] = []
    if campaign.status is not CampaignStatus.ONLINE:
        out.append(Refusal(Reason.NOT_ONLINE, f"campaign is {campaign.status}"))
    if (campaign.starts_at is not None and now < campaign.starts_at) or (
        campaign.ends_at is not None and now >= campaign.ends_at
    ):
        out.append(Refusal(Reason.OUTSIDE_SCHEDULE, "outside the campaign's schedule"))
    if channel not in campaign.channels:
        out.append(Refusal(Reason.CHANNEL_NOT_PLACED, f"campaign does not run on {channel}"))
    if customer.do_not_contact:
        out.append(Refusal(Reason.DO_NOT_CONTACT, "customer is on the do-not-contact list"))
    marketing = campaign.kind is CampaignKind.MARKETING
    if marketing and customer.has_open_complaint:
        out.append(Refusal(Reason.OPEN_COMPLAINT, "no marketing while a complaint is open"))
    if marketing and not customer.consent_marketing:
        out.append(Refusal(Reason.NO_MARKETING_CONSENT, "customer has not consented to marketing"))
    consent_field = _CHANNEL_CONSENT.get(channel)
    if consent_field is not None and not getattr(customer, consent_field):
        out.append(Refusal(Reason.NO_CHANNEL_CONSENT, f"customer has not consented to {channel}"))
    out.extend(Refusal(Reason.QUIET_HOURS, f"quiet hours ({q.name})") for q in quiet)
    purpose = _CAMPAIGN_KIND_PURPOSE[campaign.kind]
    for cap, refusal in cap_refusals.items():
        if refusal is not None and purpose in cap.purposes:
            out.append(refusal)
    # The target is checked unless the campaign itself is off here (not online, not now, not on
    # this channel): reports tell an offer a rule held back from one never meant for the customer.
    if not any(r.reason in _CAMPAIGN_OFF for r in out):
        out.extend(_target_refusals(customer, campaign))
    return out


def _target_refusals(customer: CustomerFacts, campaign: CampaignView) -> list[Refusal]:
    try:
        targeted = campaign.target(customer.fields)
    except TargetRuleFailed as exc:
        # This campaign is refused, for this customer and (once the shell disables it) for all;
        # every other campaign is still decided.
        return [Refusal(Reason.RULE_FAILED, exc.reason)]
    if targeted:
        return []
    return [Refusal(Reason.NOT_TARGETED, "customer is not in the campaign's target")]


def _cap_refusal(cap: FrequencyCap, history: tuple[PastContact, ...], now: datetime) -> Refusal | None:
    since = now - cap.window
    used = sum(1 for contact in history if contact.at > since and cap.counts(contact))
    if used < cap.max_count:
        return None
    days = cap.window.total_seconds() / 86400
    return Refusal(Reason.FREQUENCY_CAP, f"{cap.name}: {used} of {cap.max_count} in {days:g} days used")
