"""How the simulator writes AMI: header blocks laid out exactly as Asterisk 22 lays them out."""

from __future__ import annotations

from collections.abc import Iterable

from cti.simulator.channels import Bridge, Channel
from cti.simulator.queue import Member

Headers = list[tuple[str, str]]

BANNER = b"Asterisk Call Manager/11.0.0\r\n"

STATE_DESC = {0: "Down", 3: "Dialing", 4: "Ring", 5: "Ringing", 6: "Up"}
CAUSE_TEXT = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    16: "Normal Clearing",
    17: "User busy",
    19: "User alerting, no answer",
    21: "Call Rejected",
}


def encode(headers: Iterable[tuple[str, str]]) -> bytes:
    return ("".join([f"{key}: {value}\r\n" for key, value in headers]) + "\r\n").encode()


def channel_block(channel: Channel, prefix: str = "") -> Headers:
    return [
        (f"{prefix}Channel", channel.name),
        (f"{prefix}ChannelState", str(channel.state)),
        (f"{prefix}ChannelStateDesc", STATE_DESC.get(channel.state, "Unknown")),
        (f"{prefix}CallerIDNum", channel.caller_num or "<unknown>"),
        (f"{prefix}CallerIDName", channel.caller_name or "<unknown>"),
        (f"{prefix}ConnectedLineNum", channel.connected_num or "<unknown>"),
        (f"{prefix}ConnectedLineName", channel.connected_name or "<unknown>"),
        (f"{prefix}Language", channel.language),
        (f"{prefix}AccountCode", channel.account_code),
        (f"{prefix}Context", channel.context),
        (f"{prefix}Exten", channel.exten),
        (f"{prefix}Priority", str(channel.priority)),
        (f"{prefix}Uniqueid", channel.uniqueid),
        (f"{prefix}Linkedid", channel.linkedid),
    ]


def member_block(member: Member) -> Headers:
    return [
        ("Queue", member.queue),
        ("MemberName", member.name),
        ("Interface", member.interface),
        ("StateInterface", member.state_interface),
        ("Membership", member.membership),
        ("Penalty", str(member.penalty)),
        ("CallsTaken", str(member.calls_taken)),
        ("LastCall", str(int(member.last_call))),
        ("LastPause", str(int(member.last_pause))),
        ("LoginTime", str(int(member.login_time))),
        ("InCall", "1" if member.in_call else "0"),
        ("Status", str(member.status)),
        ("Paused", "1" if member.paused else "0"),
        ("PausedReason", member.paused_reason),
        ("Ringinuse", "0"),
        ("Wrapuptime", "0"),
    ]


def bridge_block(bridge: Bridge) -> Headers:
    return [
        ("BridgeUniqueid", bridge.uniqueid),
        ("BridgeType", bridge.kind),
        ("BridgeTechnology", bridge.technology),
        ("BridgeCreator", bridge.creator),
        ("BridgeName", bridge.name),
        ("BridgeNumChannels", str(len(bridge.channels))),
        ("BridgeVideoSourceMode", "none"),
    ]
