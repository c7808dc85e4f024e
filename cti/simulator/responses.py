"""How actions answer: Success / Error with the ActionID echoed, and list actions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from cti.simulator import wire

if TYPE_CHECKING:
    from cti.simulator.ami_server import Action, AmiServer, Session

Handler = Callable[["AmiServer", "Session", "Action", wire.Headers], None]


def ok(session: Session, aid: wire.Headers, message: str | None = None) -> None:
    headers = [("Response", "Success"), *aid]
    if message is not None:
        headers.append(("Message", message))
    session.respond(headers)


def error(session: Session, aid: wire.Headers, message: str) -> None:
    session.respond([("Response", "Error"), *aid, ("Message", message)])


def respond_list(
    session: Session,
    aid: wire.Headers,
    message: str,
    event: str,
    items: list[wire.Headers],
    extra: Sequence[tuple[str, str]] = (),
) -> None:  # type: ignore[assignment]
    session.respond([("Response", "Success"), *aid, ("EventList", "start"), ("Message", message)])
    for item in items:
        session.respond(item)
    session.respond(
        [("Event", event), *aid, ("EventList", "Complete"), ("ListItems", str(len(items))), *extra]
    )


def truthy(value: str) -> bool:
    return value.lower() in ("1", "true", "yes", "on")
