"""The SIPp scenarios of the harness are well-formed and do what their names say.

SIPp itself runs them in the live tests; here the XML is read with the standard library so a
broken scenario is caught without SIPp, Docker or Asterisk.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

SIP = Path(__file__).resolve().parent
SCENARIOS = ("caller.xml", "caller-abandon.xml", "agent.xml", "agent-noanswer.xml", "register.xml")


def steps(name: str) -> list[tuple[str, str]]:
    """(tag, what) for each step: the request or status sent or expected."""
    root = ET.parse(SIP / name).getroot()
    result = []
    for element in root:
        if element.tag == "send":
            first = (element.text or "").strip().splitlines()[0].strip()
            result.append(("send", first.split()[1] if first.startswith("SIP/2.0") else first.split()[0]))
        elif element.tag == "recv":
            result.append(("recv", element.get("request") or element.get("response") or ""))
        elif element.tag in {"pause", "label"}:
            result.append((element.tag, element.get("milliseconds") or element.get("id") or ""))
    return result


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_scenario_is_well_formed_xml_with_a_name(name: str) -> None:
    root = ET.parse(SIP / name).getroot()
    assert root.tag == "scenario" and root.get("name")


def test_the_caller_dials_presses_a_digit_as_sip_info_and_handles_either_side_hanging_up() -> None:
    sent = [what for kind, what in steps("caller.xml") if kind == "send"]
    assert sent == ["INVITE", "ACK", "INFO", "200", "BYE"]
    text = (SIP / "caller.xml").read_text()
    assert "Content-Type: application/dtmf-relay" in text and "Signal=[digit]" in text
    assert '<recv request="BYE" timeout="12000" ontimeout="hangup"/>' in text


def test_the_abandoning_caller_hangs_up_without_waiting_for_an_answer() -> None:
    assert [s for s in steps("caller-abandon.xml") if s[0] != "recv"] == [
        ("send", "INVITE"),
        ("send", "ACK"),
        ("pause", "1500"),
        ("send", "INFO"),
        ("pause", "4000"),
        ("send", "BYE"),
    ]


def test_the_agent_phone_rings_then_answers_with_sdp() -> None:
    assert steps("agent.xml") == [
        ("recv", "INVITE"),
        ("send", "180"),
        ("pause", "500"),
        ("send", "200"),
        ("recv", "ACK"),
        ("recv", "BYE"),
        ("send", "200"),
    ]
    assert "m=audio [media_port] RTP/AVP 0" in (SIP / "agent.xml").read_text()


def test_the_unanswered_phone_ends_the_invite_with_487_after_cancel() -> None:
    assert steps("agent-noanswer.xml") == [
        ("recv", "INVITE"),
        ("send", "180"),
        ("recv", "CANCEL"),
        ("send", "200"),
        ("send", "487"),
        ("recv", "ACK"),
    ]
    assert "CSeq: [$invite_cseq] INVITE" in (SIP / "agent-noanswer.xml").read_text()


def test_registration_answers_the_digest_challenge() -> None:
    root = ET.parse(SIP / "register.xml").getroot()
    challenge = [e for e in root if e.tag == "recv" and e.get("response") == "401"]
    assert challenge and challenge[0].get("auth") == "true"
    assert "[authentication]" in (SIP / "register.xml").read_text()


def test_every_scenario_is_used_by_the_live_tests() -> None:
    live = "".join(path.read_text() for path in (SIP.parent / "live").glob("*.py"))
    assert {path.name for path in SIP.glob("*.xml")} == set(SCENARIOS)
    for name in SCENARIOS:
        assert f'"{name}"' in live, f"{name} is not run by any live test"
