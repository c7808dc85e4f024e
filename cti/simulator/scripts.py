"""What simulated people do: callers dial in and press digits, agents' phones ring and answer."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

# Between two digits of one group: a person typing a number on a keypad.
DIGIT_GAP_S = 0.25


KNOWN_CALLER_SHARE = 0.7


@dataclass(frozen=True, slots=True)
class CallerScript:
    """One inbound caller. Times are seconds from the moment the call arrives.

    ``hangup_after_s=None`` means the caller stays until the other side ends the call.
    ``presses`` are groups of digits, each ``(seconds from the call's arrival, digits)``: a menu
    choice, later a ticket number. The digits of a group follow each other ``DIGIT_GAP_S`` apart,
    as a person types. Without ``presses``, ``digits`` are the one group, ``digits_after_s`` into
    the call. DTMF is SIP INFO (only DTMFEnd); a digit pressed while no GET DATA or STREAM FILE
    reads it is dropped, as Asterisk drops it.
    """

    caller: str = "13800131000"
    caller_name: str = "Caller 1"
    dialed: str = "4008123456"
    digits: str = "1"
    digits_after_s: float = 3.0
    hangup_after_s: float | None = None
    presses: tuple[tuple[float, str], ...] = ()

    def digit_times(self) -> list[tuple[float, str]]:
        """Every digit with the moment it is pressed, in seconds from the call's arrival."""
        groups = self.presses or ((self.digits_after_s, self.digits),)
        return sorted(
            (at + index * DIGIT_GAP_S, digit) for at, digits in groups for index, digit in enumerate(digits)
        )


@dataclass(frozen=True, slots=True)
class AgentScript:
    """An agent's phone: rings ``answer_after_s`` then answers (None: never answers).

    ``hangup_after_s`` counts from the answer (None: the agent waits for the caller to hang up);
    ``hold_after_s`` / ``hold_for_s`` put the caller on hold once, from the answer.
    ``registered=False``: the phone is not registered (its endpoint is UNAVAILABLE) until
    ``SwitchSimulator.register_phone``.
    """

    extension: str
    name: str = ""
    answer_after_s: float | None = 1.0
    hangup_after_s: float | None = None
    hold_after_s: float | None = None
    hold_for_s: float = 2.0
    reachable: bool = True
    registered: bool = True

    @property
    def interface(self) -> str:
        return f"PJSIP/{self.extension}"

    @property
    def member_name(self) -> str:
        return self.name or f"Agent {self.extension}"


def random_caller(
    rng: random.Random,
    index: int,
    *,
    abandon_ratio: float = 0.2,
    patience_s: tuple[float, float] = (4.0, 20.0),
    stay_s: tuple[float, float] = (25.0, 60.0),
    numbers: Sequence[str] = (),
    presses: tuple[tuple[float, str], ...] = (),
) -> CallerScript:
    """A caller for load: a random number, a menu choice, and a hang-up ``stay_s`` after dialling
    — or, for ``abandon_ratio`` of them, an impatient one after ``patience_s``. With ``numbers``
    (customers the CRM knows), most callers call from one of them. ``presses``, when given, are
    the caller's keys through a menu instead of the one random choice."""
    if numbers and rng.random() < KNOWN_CALLER_SHARE:
        number = rng.choice(numbers)
    else:
        number = f"138{rng.randrange(10_000_000, 99_999_999)}"
    low, high = patience_s if rng.random() < abandon_ratio else stay_s
    hangup = round(rng.uniform(low, high), 3)
    return CallerScript(
        caller=number,
        caller_name=f"Caller {index}",
        digits=rng.choice("112"),
        digits_after_s=round(rng.uniform(2.0, 3.5), 3),
        hangup_after_s=hangup,
        presses=presses,
    )
