"""The switch simulator: a small Asterisk 22 that speaks AMI and drives FastAGI the way the
captures in tests/transcripts show, for tests and ``hotline demo`` (see docs/simulator.md)."""

from cti.simulator.clock import Clock, RealClock, VirtualClock
from cti.simulator.core import CallRecord, Dialplan, QueueConfig, SwitchSimulator
from cti.simulator.scripts import AgentScript, CallerScript
from cti.simulator.traffic import DemoTraffic, TrafficSummary

__all__ = [
    "AgentScript",
    "CallRecord",
    "CallerScript",
    "Clock",
    "DemoTraffic",
    "Dialplan",
    "QueueConfig",
    "RealClock",
    "SwitchSimulator",
    "TrafficSummary",
    "VirtualClock",
]
