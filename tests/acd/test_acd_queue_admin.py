"""Queues changed at run time (the admin page): checked as the file is, in force at the next decision."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from acd.errors import AcdConfigError, QueueInUse, UnknownQueue
from acd.events import MaxWaitReached, QueueConfigured, QueueStatsUpdated
from acd.models import MaxWaitAction, QueueConfig, Strategy, WaitingCall
from acd.queue_file import load_queue_file, parse_queue, save_queue_file
from acd.router import Router
from cti.events import CallAbandoned, CallAnswered
from tests.acd.test_acd_service import Harness, at, offered, queued

SHIPPED = Path(__file__).parents[2] / "acd" / "queues.yaml"


async def waiting_call(h: Harness, call: str, queue: str, seconds: float = 0) -> None:
    await h.feed(offered(call, seconds), queued(call, seconds, queue))


async def test_a_new_skill_for_a_queue_serves_its_waiting_caller_at_once() -> None:
    h = Harness()
    await h.acd.login("alice")  # support only
    await waiting_call(h, "c1", "sales")
    assert h.switch.of("redirect") == []
    previous = await h.acd.set_queue(QueueConfig("sales", skill="support", strategy=Strategy.BEST_SKILL))
    assert previous is not None and previous.skill == "sales"
    assert h.switch.of("redirect") == [("redirect", "PJSIP/trunk-c1", "hotline-deliver", "1001")]
    assert h.acd.config.queues["sales"].skill == "support"
    [configured] = h.published(QueueConfigured)
    assert (configured.queue, configured.removed) == ("sales", False)


async def test_a_higher_weight_puts_a_queues_waiting_callers_first_for_the_next_free_agent() -> None:
    h = Harness()
    await waiting_call(h, "early", "support", 0)
    await waiting_call(h, "late", "sales", 5)
    await h.acd.set_queue(QueueConfig("sales", weight=10))
    await h.acd.login("bob")  # support and sales: takes the heavier queue's caller although later
    assert h.switch.of("redirect")[0][1] == "PJSIP/trunk-late"


async def test_a_lowered_maximum_wait_applies_to_callers_already_waiting() -> None:
    h = Harness()
    await waiting_call(h, "c1", "sales", 0)
    h.clock.now = at(100)
    await h.acd.run_due()
    assert h.published(MaxWaitReached) == []
    await h.acd.set_queue(QueueConfig("sales", max_wait_s=60, max_wait_action=MaxWaitAction.MESSAGE))
    await h.acd.run_due()
    [reached] = h.published(MaxWaitReached)
    assert (reached.call_id, reached.action) == ("c1", MaxWaitAction.MESSAGE)


async def test_an_overflow_removed_from_a_queue_no_longer_fires() -> None:
    h = Harness()
    await h.acd.set_queue(QueueConfig("sales", overflow_after_s=30, overflow_to="support"))
    await waiting_call(h, "c1", "sales", 0)
    await h.acd.set_queue(QueueConfig("sales"))
    await h.acd.login("alice")
    h.clock.now = at(60)
    await h.acd.run_due()
    assert h.switch.of("redirect") == []  # alice (support) is never offered the sales caller


async def test_a_new_service_level_threshold_counts_the_window_again() -> None:
    h = Harness()
    await waiting_call(h, "c1", "sales", 0)
    await h.feed(CallAnswered(at(15), "c1", "PJSIP/1003", "sales", 15.0))
    assert h.acd.snapshot("sales").answered_within_sl == 1
    await h.acd.set_queue(QueueConfig("sales", service_level_s=10))
    snapshot = h.acd.snapshot("sales")
    assert (snapshot.answered, snapshot.answered_within_sl, snapshot.service_level) == (1, 0, 0.0)


async def test_a_new_queue_counts_the_logged_in_agents_whose_skills_match_it() -> None:
    h = Harness()
    await h.acd.login("alice")
    await h.acd.set_queue(QueueConfig("billing", skill="support"))
    assert h.acd.snapshot("billing").agents.available == 1
    assert "billing" in h.acd.states.get("alice").queues
    assert any(s.queue == "billing" for s in h.published(QueueStatsUpdated))
    await waiting_call(h, "c1", "billing")
    assert h.switch.of("redirect") == [("redirect", "PJSIP/trunk-c1", "hotline-deliver", "1001")]


@pytest.mark.parametrize(
    ("queue", "message"),
    [
        (
            QueueConfig("sales", overflow_after_s=30, overflow_to="nowhere"),
            "overflow_to 'nowhere' is not a queue",
        ),
    ],
)
async def test_a_queue_the_file_would_refuse_is_refused_and_nothing_changes(queue, message) -> None:
    h = Harness()
    before = h.acd.config
    with pytest.raises(AcdConfigError, match=message):
        await h.acd.set_queue(queue)
    assert h.acd.config is before
    assert h.published(QueueConfigured) == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"strategy": "random"}, "strategy 'random' is not one of"),
        ({"service_level_s": 0}, "service_level_s > 0"),
        ({"max_wait_s": -1}, "max_wait_s must be > 0"),
        ({"overflow_after_s": 30}, "overflow_after_s and overflow_to go together"),
        ({"overflow_after_s": 30, "overflow_to": "sales"}, "cannot overflow to itself"),
        ({"colour": "red"}, "unknown setting"),
    ],
)
def test_the_admin_page_settings_are_checked_as_the_file_is(fields, message) -> None:
    with pytest.raises(AcdConfigError, match=message):
        parse_queue("sales", fields)


async def test_a_queue_is_not_removed_while_a_caller_waits_in_it() -> None:
    h = Harness()
    await waiting_call(h, "c1", "sales")
    with pytest.raises(QueueInUse, match="1 caller\\(s\\) wait in it"):
        await h.acd.remove_queue("sales")
    assert "sales" in h.acd.config.queues
    await h.feed(CallAbandoned(at(5), "c1", "sales", 5.0, 1))
    removed = await h.acd.remove_queue("sales")
    assert removed.name == "sales" and "sales" not in h.acd.config.queues
    await waiting_call(h, "c2", "sales", 10)  # a caller the IVR still sends there is not routed
    assert h.acd.router.call("c2") is None
    assert h.published(QueueConfigured)[-1].removed


async def test_a_queue_another_overflows_to_or_the_last_queue_is_not_removed() -> None:
    h = Harness()
    await h.acd.set_queue(QueueConfig("sales", overflow_after_s=30, overflow_to="support"))
    with pytest.raises(QueueInUse, match="sales overflow"):
        await h.acd.remove_queue("support")
    with pytest.raises(UnknownQueue):
        await h.acd.remove_queue("nowhere")
    await h.acd.set_queue(QueueConfig("sales"))
    await h.acd.remove_queue("sales")
    with pytest.raises(AcdConfigError, match="at least one queue"):
        await h.acd.remove_queue("support")


async def test_when_saving_fails_the_acd_keeps_its_queues() -> None:
    h = Harness()

    async def broken(queues) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        await h.acd.set_queue(QueueConfig("sales", service_level_s=5), persist=broken)
    assert h.acd.config.queues["sales"].service_level_s == 20
    with pytest.raises(OSError):
        await h.acd.remove_queue("sales", persist=broken)
    assert "sales" in h.acd.config.queues


async def test_the_saved_queues_are_the_ones_the_acd_takes(tmp_path: Path) -> None:
    h = Harness()
    path = tmp_path / "queues.yaml"
    saved = []

    async def persist(queues) -> None:
        save_queue_file(path, queues)
        saved.append(dict(queues))

    await h.acd.set_queue(QueueConfig("billing", weight=3, service_level_s=15), persist=persist)
    assert load_queue_file(path) == dict(h.acd.config.queues)


def test_the_file_is_written_whole_in_a_stable_readable_order(tmp_path: Path) -> None:
    queues = load_queue_file(SHIPPED)
    path = tmp_path / "queues.yaml"
    save_queue_file(path, queues)
    assert load_queue_file(path) == queues
    assert [p.name for p in tmp_path.iterdir()] == ["queues.yaml"]  # no temporary file left
    text = path.read_text()
    assert text.startswith("# The ACD's queues")
    assert list(yaml.safe_load(text)["vip"]) == [
        "skill",
        "strategy",
        "weight",
        "service_level_s",
        "overflow_after_s",
        "overflow_to",
    ]
    save_queue_file(path, queues)
    assert path.read_text() == text  # the same queues, the same bytes


def test_an_invalid_set_of_queues_is_never_written(tmp_path: Path) -> None:
    path = tmp_path / "queues.yaml"
    path.write_text("support: {}\n")
    with pytest.raises(AcdConfigError):
        save_queue_file(path, {"vip": QueueConfig("vip", overflow_after_s=1, overflow_to="gone")})
    assert path.read_text() == "support: {}\n"


def test_the_router_forgets_nothing_when_a_queue_changes_under_a_ringing_call() -> None:
    router = Router({"support": QueueConfig("support")})
    router.set_agent("alice", {"support": 5})
    assert router.agent_available("alice", at(0)) == []
    [_] = router.add_call(WaitingCall("c1", "PJSIP/trunk-c1", "support"), at(1))
    assert router.set_queue(QueueConfig("support", weight=4), at(2)) == []
    assert router.delivering_agent("c1") == "alice"
    with pytest.raises(QueueInUse):
        router.remove_queue("support")
