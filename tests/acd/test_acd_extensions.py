"""One phone, one agent: the ACD logs nobody in on an extension another agent holds or uses,
and knows a hot-desked agent by the phone they logged in on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from acd.agents import AgentStates
from acd.errors import ExtensionInUse
from acd.models import AgentProfile

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def states() -> AgentStates:
    return AgentStates(
        {
            "alice": AgentProfile("alice", "1001", {"support": 5}),
            "bob": AgentProfile("bob", "1002", {"support": 5}),
        }
    )


def test_nobody_logs_in_on_another_agents_own_extension_even_while_that_agent_is_away(states: AgentStates):
    with pytest.raises(ExtensionInUse, match="1001"):
        states.login(T0, "bob", ("support",), extension="1001")
    assert str(states.get("bob").state) == "logged-out"


def test_nobody_logs_in_on_a_free_desk_another_agent_is_logged_in_on(states: AgentStates):
    states.login(T0, "alice", ("support",), extension="1009")
    with pytest.raises(ExtensionInUse, match="1009"):
        states.login(T0, "bob", ("support",), extension="1009")
    states.logout(T0, "alice")
    states.login(T0, "bob", ("support",), extension="1009")
    assert states.get("bob").extension == "1009"


def test_a_hot_desked_agent_is_known_by_the_phone_they_logged_in_on_until_they_log_out(states: AgentStates):
    states.login(T0, "bob", ("support",), extension="1009")
    assert states.by_interface("PJSIP/1009") is states.get("bob")
    assert states.by_interface("PJSIP/1002") is states.get("bob")  # their own desk, as before
    assert states.holder_of("1009", besides="alice") == "bob"
    states.logout(T0, "bob")
    assert states.by_interface("PJSIP/1009") is None
    assert states.holder_of("1009", besides="alice") is None
    assert states.holder_of("1001", besides="bob") == "alice"
    assert states.holder_of("1001", besides="alice") is None
