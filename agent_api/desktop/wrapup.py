"""Storing a wrap-up: one contact record, an outcome and answers for each offer shown, a ticket
opened or updated."""

from __future__ import annotations

import dataclasses

from agent_api.context import Services
from agent_api.desktop.pending import Popped
from agent_api.desktop.schemas import OfferResult, WrapUpBody, WrapUpDone
from agent_api.errors import BadRequest, InvalidBody, NotFoundError, UnknownDisposition
from crm import contacts, customers, offers, tickets
from crm.desk_codes import CodeKind, offered_codes
from crm.errors import CrmError, InvalidAnswer, NotFound
from crm.kinds import Channel, OfferOutcome
from crm.offers import AnswerValue


async def store_wrapup(svc: Services, agent: str, popped: Popped, body: WrapUpBody) -> WrapUpDone:
    popped = await _with_customer(svc, popped)
    queue = popped.payload.get("queue") or ""
    allowed = [c.code for c in await offered_codes(svc.db, CodeKind.DISPOSITION, queue)]
    if body.disposition not in allowed:
        raise UnknownDisposition(f"unknown disposition {body.disposition!r}", details={"allowed": allowed})
    results = _offer_results(body)
    not_shown = sorted({r.campaign_id for r in results} - popped.offers)
    if not_shown:
        raise BadRequest(
            "that offer was not shown on this call",
            details={"shown": sorted(popped.offers), "not_shown": not_shown},
        )
    if (body.new_ticket or body.ticket_update or results) and popped.customer_id is None:
        raise BadRequest(
            "an unknown caller has no customer record for offers or tickets: create the customer "
            "from the pop first"
        )
    if body.new_ticket is not None and body.ticket_update is not None:
        raise BadRequest("open a ticket or update one, not both: a contact refers to one ticket")
    shown_tickets = {t["id"]: t["number"] for t in popped.payload.get("tickets", ())}
    if body.ticket_update is not None and body.ticket_update.ticket_id not in shown_tickets:
        # Like offers: an agent updates the tickets the pop showed, not any ticket by its id.
        raise BadRequest("that ticket was not shown on this call", details={"shown": sorted(shown_tickets)})
    answers = {r.campaign_id: _answers(r) for r in results}
    await _check_required(svc, results, answers)
    ticket_id: int | None = None
    ticket_number: str | None = None
    presentation_ids: list[int] = []
    try:
        if body.new_ticket is not None and popped.customer_id is not None:
            ref = await svc.crm.open_ticket(
                tickets.NewTicket(
                    customer_id=popped.customer_id,
                    kind=body.new_ticket.kind,
                    subject=body.new_ticket.subject,
                    opened_by=agent,
                    description=body.new_ticket.description,
                    queue=popped.payload.get("queue") or "",
                )
            )
            ticket_id, ticket_number = ref.id, ref.number
        elif body.ticket_update is not None:
            update = body.ticket_update
            if update.resolve:
                await tickets.resolve_ticket(svc.db, update.ticket_id, actor=agent, note=update.note)
            else:
                await tickets.add_ticket_note(svc.db, update.ticket_id, update.note, actor=agent)
            ticket_id, ticket_number = update.ticket_id, shown_tickets[update.ticket_id]
        contact_id = await contacts.record_contact(
            svc.db,
            contacts.NewContact(
                customer_id=popped.customer_id,
                channel=popped.channel,
                agent=agent,
                call_id=popped.call_id,
                ticket_id=ticket_id,
                disposition=body.disposition,
                note=body.notes,
                queue=popped.payload.get("queue") or "",
            ),
            tz=svc.crm.tz,  # type: ignore[attr-defined]  # the center's time zone, for the day it counts in
        )
        for result in results:
            assert popped.customer_id is not None  # checked above: offers need a customer
            presentation_id = await offers.record_presentation(
                svc.db,
                result.campaign_id,
                popped.customer_id,
                Channel.CALL_IN,
                agent=agent,
                contact_id=contact_id,
                outcome=result.outcome,
            )
            presentation_ids.append(presentation_id)
            if answers[result.campaign_id]:
                await offers.record_answers(svc.db, presentation_id, answers[result.campaign_id])
    except NotFound as exc:
        raise NotFoundError(str(exc)) from None
    except InvalidAnswer as exc:
        raise InvalidBody(str(exc)) from None
    except CrmError as exc:
        raise BadRequest(str(exc)) from None
    return WrapUpDone(
        contact_id=contact_id,
        ticket_number=ticket_number,
        presentation_id=presentation_ids[0] if presentation_ids else None,
        presentation_ids=presentation_ids,
    )


def _offer_results(body: WrapUpBody) -> list[OfferResult]:
    """The outcome of each offer shown: ``offers`` (one per offer), or the single ``offer`` of
    older pages; each campaign once."""
    results = [*([body.offer] if body.offer is not None else []), *body.offers]
    seen: set[int] = set()
    for result in results:
        campaign_id = result.campaign_id
        if campaign_id in seen:
            raise InvalidBody(f"campaign {campaign_id} has more than one outcome: one per offer shown")
        seen.add(result.campaign_id)
    return results


def _answers(result: OfferResult) -> dict[int, AnswerValue]:
    out: dict[int, AnswerValue] = {}
    for key, value in result.answers.items():
        if not key.isdigit():
            raise InvalidBody(f"answers are keyed by question id, not {key!r}")
        out[int(key)] = value
    campaign_id = result.campaign_id
    if out and result.outcome is OfferOutcome.NOT_PRESENTED:
        raise InvalidBody(f"campaign {campaign_id} was not presented: it has no answers")
    return out


async def _check_required(
    svc: Services, results: list[OfferResult], answers: dict[int, dict[int, AnswerValue]]
) -> None:
    """An accepted offer (the customer took the questionnaire) is saved only with an answer to
    each of its required questions; checked before anything of the wrap-up is stored."""
    for result in results:
        if result.outcome is not OfferOutcome.ACCEPTED:
            continue
        missing = await offers.missing_required(svc.db, result.campaign_id, answers[result.campaign_id])
        if missing:
            question = missing[0]
            raise InvalidBody(
                f"a required question is not answered: {question!r}",
                details={"campaign_id": result.campaign_id, "unanswered": missing},
            )


async def _with_customer(svc: Services, popped: Popped) -> Popped:
    """A caller unknown when the phone rang may have been made a customer during the call (from
    the pop): the wrap-up then belongs to the customer who owns the number now."""
    if popped.customer_id is not None or not popped.caller:
        return popped
    match = await customers.find_customer_by_phone(svc.db, popped.caller)
    return popped if match is None else dataclasses.replace(popped, customer_id=match.customer_id)
