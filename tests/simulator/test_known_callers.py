from __future__ import annotations

import random

from cti.simulator.scripts import KNOWN_CALLER_SHARE, random_caller


def test_most_load_callers_call_from_the_known_numbers_when_given() -> None:
    rng = random.Random(7)
    known = ("13800138000", "13900139000")
    callers = [random_caller(rng, index, numbers=known).caller for index in range(1_000)]
    share = sum(caller in known for caller in callers) / len(callers)
    assert abs(share - KNOWN_CALLER_SHARE) < 0.05
    assert all(caller.startswith("13") and len(caller) == 11 for caller in callers)


def test_without_known_numbers_every_caller_has_a_fresh_number() -> None:
    rng = random.Random(7)
    callers = {random_caller(rng, index).caller for index in range(200)}
    assert len(callers) == 200
