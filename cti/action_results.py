"""What an AMI action returns once Asterisk has fully answered it."""

from __future__ import annotations

from dataclasses import dataclass

from cti.ami_protocol import AmiMessage, first


@dataclass(frozen=True, slots=True)
class ActionResult:
    """One action's answer, gathered: the ``Response``, then for a list action (``EventList:
    start``) every event carrying the ActionID, and the event that closed it — the ``…Complete``
    event with ``ListItems``, or the ``OriginateResponse`` of an async Originate."""

    action: str
    action_id: str
    response: AmiMessage
    items: tuple[AmiMessage, ...] = ()
    completion: AmiMessage | None = None

    @property
    def message(self) -> str:
        return first(self.response, "Message")

    def value(self, key: str, default: str = "") -> str:
        """A header of the response (``Value`` of a Getvar, ``Ping`` of a Ping)."""
        return first(self.response, key, default)
