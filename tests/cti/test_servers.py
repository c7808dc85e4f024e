"""Several Asterisk servers: call ids name their server, each action goes to the server it
concerns, and a link refuses a server that is not the one configured under its name."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from cti.ami_link import AmiLinkConfig
from cti.bus import EventBus
from cti.errors import AmiActionFailed, SwitchUnavailable
from cti.events import SwitchConnected, SwitchResynced, server_of
from cti.servers import AmbiguousChannel, SwitchPerServer
from cti.service import CtiService
from cti.simulator import AgentScript, SwitchSimulator
from cti.switch import SpyMode, Switch
from cti.tracker import CallTracker

AT = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("call_id", "server"),
    [
        ("1733600000.42", ""),
        ("bj-1733600000.42", "bj"),
        ("site-2-1733600000.7", "site-2"),  # a systemname may have dashes of its own
        ("call-1", ""),  # not an Asterisk id
        ("bj-", ""),
    ],
)
def test_a_call_id_names_the_server_that_made_it(call_id: str, server: str) -> None:
    assert server_of(call_id) == server


def test_a_resync_ends_only_its_own_servers_calls() -> None:
    resynced = SwitchResynced(at=AT, calls=("sh-1733600000.2",), server="sh")
    mine = ["sh-1733600000.1", "sh-1733600000.2", "bj-1733600000.1", "1733600000.1"]
    assert resynced.ended(mine) == ["sh-1733600000.1"]
    assert SwitchResynced(at=AT, calls=("1733600000.2",)).ended(["1733600000.1", "1733600000.2"]) == [
        "1733600000.1"
    ]


class FakeSwitch:
    """Records what it was asked; ``fail`` makes every queue_pause answer an Asterisk error."""

    def __init__(self, name: str, *, fail: bool = False) -> None:
        self.name = name
        self.fail = fail
        self.calls: list[tuple[str, tuple[Any, ...], Mapping[str, Any]]] = []

    def __getattr__(self, method: str):
        async def record(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((method, args, kwargs))
            if method == "queue_pause" and self.fail:
                raise AmiActionFailed("QueuePause", "Interface not found")
            return None

        return record


class FakeServer:
    def __init__(
        self, name: str, *, channels: set[str] = frozenset(), phones: set[str] = frozenset()
    ) -> None:
        self.name = name
        self.switch = FakeSwitch(name)
        self.channels = set(channels)
        self.phones = set(phones)

    def has_channel(self, name: str) -> bool:
        return name in self.channels

    def homes(self, interface: str) -> bool:
        return interface in self.phones


@pytest.fixture
def servers() -> tuple[FakeServer, FakeServer]:
    bj = FakeServer("bj", channels={"PJSIP/trunk-bj-00000001", "PJSIP/1001-00000002"}, phones={"PJSIP/1001"})
    sh = FakeServer("sh", channels={"PJSIP/trunk-sh-00000001", "PJSIP/3001-00000002"}, phones={"PJSIP/3001"})
    return bj, sh


def asked(server: FakeServer) -> list[str]:
    return [method for method, _, _ in server.switch.calls]


async def test_a_channel_action_goes_to_the_server_where_the_channel_is_up(servers) -> None:
    bj, sh = servers
    switch = SwitchPerServer([bj, sh])
    await switch.redirect("PJSIP/trunk-sh-00000001", context="hotline-deliver", exten="3001")
    await switch.set_var("PJSIP/trunk-bj-00000001", "HOTLINE_RING_S", "15")
    await switch.hold("PJSIP/trunk-sh-00000001", "PJSIP/3001-00000002")
    await switch.hangup("PJSIP/1001-00000002")
    assert asked(bj) == ["set_var", "hangup"]
    assert asked(sh) == ["redirect", "hold"]


def test_every_action_of_the_switch_has_its_server() -> None:
    actions = [name for name, _ in inspect.getmembers(Switch, inspect.isfunction) if not name.startswith("_")]
    switch = SwitchPerServer([FakeServer("bj")])
    assert actions and all(callable(getattr(switch, action)) for action in actions)
    with pytest.raises(AttributeError):
        switch.no_such_action  # noqa: B018


async def test_a_channel_up_on_two_servers_is_refused_not_guessed(servers) -> None:
    bj, sh = servers
    bj.channels.add("PJSIP/trunk-00000009")
    sh.channels.add("PJSIP/trunk-00000009")
    with pytest.raises(AmbiguousChannel, match="bj, sh"):
        await SwitchPerServer([bj, sh]).redirect("PJSIP/trunk-00000009", context="c", exten="1")
    assert asked(bj) == asked(sh) == []


async def test_interface_actions_go_to_the_phones_home_and_queue_log_to_the_calls_server(servers) -> None:
    bj, sh = servers
    switch = SwitchPerServer([bj, sh])
    await switch.originate(channel="PJSIP/3001", context="hotline-dial-out", exten="13800131001")
    await switch.queue_pause("PJSIP/1001", paused=True, reason="lunch")
    await switch.spy("PJSIP/1002", "3001", SpyMode.LISTEN)
    await switch.queue_log("support", "sh-1733600000.5", "CONNECT", agent="PJSIP/3001")
    await switch.queue_log("support", "bj-1733600000.5", "COMPLETECALLER", agent="PJSIP/1001")
    assert asked(bj) == ["queue_pause", "queue_log"]
    assert asked(sh) == ["originate", "spy", "queue_log"]


async def test_a_phone_homed_nowhere_yet_is_paused_wherever_it_is_a_member(servers) -> None:
    bj, sh = servers
    bj.switch.fail = True  # "Interface not found": not a member there
    await SwitchPerServer([bj, sh]).queue_pause("PJSIP/5001", paused=True)
    assert asked(bj) == asked(sh) == ["queue_pause"]
    sh.switch.fail = True
    with pytest.raises(AmiActionFailed):
        await SwitchPerServer([bj, sh]).queue_pause("PJSIP/5001", paused=True)


async def test_a_link_stays_away_from_a_server_without_the_systemname_it_is_configured_under(
    caplog: pytest.LogCaptureFixture,
) -> None:
    unnamed = SwitchSimulator(agents=[AgentScript("1001")])
    named = SwitchSimulator(agents=[AgentScript("3001")], system_name="sh")
    bus = EventBus()
    seen = bus.subscribe("test", SwitchConnected, SwitchResynced)
    services = []
    try:
        for sim, name in ((unnamed, "gz"), (named, "sh")):
            port = await sim.start("127.0.0.1", 0)
            config = AmiLinkConfig(
                host="127.0.0.1", port=port, username=sim.username, secret=sim.secret, reconnect_max_s=0.2
            )
            services.append(CtiService(config, bus, CallTracker(server=name), name=name))
        with caplog.at_level(logging.ERROR, logger="cti.service"):
            for service in services:
                await service.start()
            events = []
            async with asyncio.timeout(5):
                while not any(isinstance(e, SwitchResynced) for e in events):
                    events.append(await seen.get())
                while not any(r.msg == "ami_wrong_server" for r in caplog.records):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        resynced = events[-1]
        assert (resynced.server, resynced.phones) == ("sh", ("PJSIP/3001",))
        await asyncio.sleep(0.5)  # the unnamed server is tried again, and refused again
        events += [seen.get_nowait() for _ in range(seen.pending())]
        assert {e.server for e in events} == {"sh"}
        with pytest.raises(SwitchUnavailable):
            await services[0].switch.hangup("PJSIP/1001-00000001")
    finally:
        for service in services:
            await service.stop()
        await unnamed.stop()
        await named.stop()
