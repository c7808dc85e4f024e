from __future__ import annotations

import pytest

from acd.errors import AcdConfigError
from acd.models import AcdConfig, AgentProfile, QueueConfig, WaitingCall


def test_a_queue_without_a_skill_uses_its_own_name_and_agents_get_a_pjsip_interface() -> None:
    assert QueueConfig("support").skill == "support"
    assert AgentProfile("alice", "1001", {"support": 3}).interface == "PJSIP/1001"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: QueueConfig(""), "needs a name"),
        (lambda: QueueConfig("q", overflow_after_s=30), "go together"),
        (lambda: QueueConfig("q", overflow_to="q", overflow_after_s=3), "itself"),
        (lambda: QueueConfig("q", max_wait_s=0), "max_wait_s"),
        (lambda: QueueConfig("q", wrapup_s=-1), "wrapup_s"),
        (lambda: AgentProfile("alice", "1001", {"support": 11}), "level 11"),
        (lambda: AgentProfile("alice", "", {}), "extension"),
        (lambda: AcdConfig({"q": QueueConfig("q", overflow_to="nowhere", overflow_after_s=5)}), "nowhere"),
        (lambda: AcdConfig({"a": QueueConfig("b")}), "named 'b'"),
    ],
)
def test_configuration_that_cannot_work_is_refused_with_what_to_fix(build, message: str) -> None:
    with pytest.raises(AcdConfigError, match=message):
        build()


def test_an_agent_serves_the_queues_whose_skill_they_have() -> None:
    config = AcdConfig(
        {
            "support": QueueConfig("support"),
            "vip": QueueConfig("vip", skill="support"),
            "sales": QueueConfig("sales"),
        }
    )
    assert config.queues_for_skills({"support": 2}) == ("support", "vip")


def test_wrap_up_comes_from_the_queue_else_from_the_site_default() -> None:
    config = AcdConfig({"a": QueueConfig("a", wrapup_s=30), "b": QueueConfig("b")}, wrapup_s=12)
    assert (config.wrapup_for("a"), config.wrapup_for("b"), config.wrapup_for("")) == (30, 12, 12)


def test_stickiness_follows_the_customer_else_the_caller_number() -> None:
    assert WaitingCall("c", "ch", "q", caller="138", customer_id="cust").customer_key == "cust"
    assert WaitingCall("c", "ch", "q", caller="138").customer_key == "138"
