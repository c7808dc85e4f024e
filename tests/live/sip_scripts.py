"""SIPp caller scenarios written for one test: who calls, which digits they press when (SIP INFO,
as the trunk is ``dtmf_mode = info``), and how long they stay before hanging up themselves.
The shape is tests/sip/caller.xml's; only the caller's number and the presses change."""

from __future__ import annotations

from pathlib import Path

DIGIT_GAP_MS = 300

HEAD = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="hotline caller {number}">
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Caller" <sip:{number}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: sip:{number}@[local_ip]:[local_port]
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true"/>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Caller" <sip:{number}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Contact: sip:{number}@[local_ip]:[local_port]
Max-Forwards: 70
Content-Length: 0
]]></send>
  <nop><action><exec rtp_stream="caller-ulaw.wav,-1,0"/></action></nop>
"""

PRESS = """  <pause milliseconds="{pause}"/>
  <send retrans="500"><![CDATA[
INFO sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Caller" <sip:{number}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: {cseq} INFO
Contact: sip:{number}@[local_ip]:[local_port]
Max-Forwards: 70
Content-Type: application/dtmf-relay
Content-Length: [len]

Signal={digit}
Duration=160
]]></send>
  <recv response="200"/>
"""

TAIL = """  <recv request="BYE" timeout="{stay}" ontimeout="hangup"/>
  <send next="done"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0
]]></send>
  <label id="hangup"/>
  <send retrans="500"><![CDATA[
BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Caller" <sip:{number}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: {cseq} BYE
Contact: sip:{number}@[local_ip]:[local_port]
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="200" crlf="true"/>
  <label id="done"/>
</scenario>
"""


def caller_scenario(
    path: Path, number: str, presses: tuple[tuple[float, str], ...] = (), stay_s: float = 20.0
) -> Path:
    """Write a caller scenario: ``presses`` are (seconds after the previous group, digits),
    the digits of a group ``DIGIT_GAP_MS`` apart; ``stay_s`` after the last digit the caller
    hangs up unless the far end did first."""
    parts = [HEAD.format(number=number)]
    cseq = 2
    for after_s, digits in presses:
        for index, digit in enumerate(digits):
            pause = int(after_s * 1000) if index == 0 else DIGIT_GAP_MS
            parts.append(PRESS.format(pause=pause, number=number, cseq=cseq, digit=digit))
            cseq += 1
    parts.append(TAIL.format(stay=int(stay_s * 1000), number=number, cseq=cseq))
    path.write_text("".join(parts))
    return path
