"""Which calls are recorded, from when, in what layout, and for how long: pure data and rules.

The dialplan starts MixMonitor (the AMI user has no ``system`` class); it reads the channel
variables :func:`dialplan_variables` names (docs/recording-policy.md). Hotline applies the same
plan to know which files to expect and to stop a recording the plan does not want.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from recording.errors import RecordingError


class RecordFrom(enum.StrEnum):
    ANSWER = "answer"  # MixMonitor option b: bridged audio only (no IVR, no music on hold)
    START = "start"  # everything from the moment the dialplan starts MixMonitor


@dataclass(frozen=True, slots=True)
class Plan:
    record: bool = True
    record_from: RecordFrom = RecordFrom.ANSWER
    split: bool = False  # caller and agent on separate r()/t() legs, merged to stereo afterwards
    retention_days: int = 180


@dataclass(frozen=True, slots=True)
class Rule:
    """An override for one queue or one number (dialed or calling); unset fields inherit."""

    queue: str = ""
    number: str = ""
    record: bool | None = None
    record_from: RecordFrom | None = None
    split: bool | None = None
    retention_days: int | None = None

    def applies(self, queue: str, numbers: tuple[str, ...]) -> bool:
        if self.queue and self.queue != queue:
            return False
        return not self.number or self.number in numbers

    def apply(self, plan: Plan) -> Plan:
        changes: dict[str, Any] = {}
        for name in ("record", "record_from", "split", "retention_days"):
            value = getattr(self, name)
            if value is not None:
                changes[name] = value
        return replace(plan, **changes)


@dataclass(frozen=True, slots=True)
class RecordingPolicy:
    default: Plan = Plan()
    rules: tuple[Rule, ...] = ()

    def plan(self, *, queue: str = "", numbers: tuple[str, ...] = ()) -> Plan:
        """The default, then queue rules, then number rules (the most specific wins)."""
        plan = self.default
        ordered = sorted(self.rules, key=lambda r: (bool(r.number), bool(r.queue)))
        for rule in ordered:
            if rule.applies(queue, numbers):
                plan = rule.apply(plan)
        return plan


def dialplan_variables(plan: Plan) -> dict[str, str]:
    """The channel variables the ``hotline-record`` dialplan reads."""
    return {
        "HOTLINE_RECORD": "yes" if plan.record else "no",
        "HOTLINE_RECORD_FROM": plan.record_from.value,
        "HOTLINE_RECORD_SPLIT": "yes" if plan.split else "no",
    }


def policy_from_mapping(data: Mapping[str, Any], *, retention_days: int = 180) -> RecordingPolicy:
    """A policy from parsed YAML: ``default: {...}`` and ``rules: [{queue|number, ...}]``."""
    if not isinstance(data, Mapping):
        raise RecordingError("a recording policy is a mapping with 'default' and 'rules'")
    default = Plan(retention_days=retention_days)
    default = _rule(data.get("default") or {}, where="default", top=True).apply(default)
    rules = []
    for index, raw in enumerate(data.get("rules") or ()):
        rule = _rule(raw, where=f"rules[{index}]", top=False)
        rules.append(rule)
    return RecordingPolicy(default=default, rules=tuple(rules))


def load_policy(path: str | Path, *, retention_days: int = 180) -> RecordingPolicy:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise RecordingError(f"cannot read the recording policy {path}: {exc}") from None
    return policy_from_mapping(data, retention_days=retention_days)


def _rule(raw: Any, *, where: str, top: bool) -> Rule:
    if not isinstance(raw, Mapping):
        raise RecordingError(f"{where}: expected a mapping")
    known = {"record", "from", "split", "retention_days"} | (set() if top else {"queue", "number"})
    unknown = set(raw) - known
    if unknown:
        raise RecordingError(f"{where}: unknown keys {', '.join(sorted(map(str, unknown)))}")
    if not top and not (raw.get("queue") or raw.get("number")):
        raise RecordingError(f"{where}: a rule names a queue or a number")
    record_from = raw.get("from")
    if record_from is not None and record_from not in {f.value for f in RecordFrom}:
        raise RecordingError(f"{where}: 'from' is 'answer' or 'start', not {record_from!r}")
    days = raw.get("retention_days")
    if days is not None and (not isinstance(days, int) or isinstance(days, bool) or days < 1):
        raise RecordingError(f"{where}: retention_days is a whole number of days, at least 1")
    for flag in ("record", "split"):
        if flag in raw and not isinstance(raw[flag], bool):
            raise RecordingError(f"{where}: {flag} is true or false")
    return Rule(
        queue=str(raw.get("queue") or ""),
        number=str(raw.get("number") or ""),
        record=raw.get("record"),
        record_from=RecordFrom(record_from) if record_from else None,
        split=raw.get("split"),
        retention_days=days,
    )
