"""Menu files: YAML in, a validated ``MenuDefinition`` out, or ``MenuInvalid`` naming file and node.

A menu is refused, with every problem listed, when a node leads to an unknown node, a node
cannot be reached from ``start``, a node plays a prompt that has no text in one of the menu's
languages, or some path loops without ever reaching a queue, callback, message, transfer or
hang-up (a caller would be stuck there forever).
"""

from __future__ import annotations

import dataclasses
import enum
import re
import typing
from collections.abc import Mapping
from datetime import date, time
from pathlib import Path
from typing import Any

import yaml

from ivr import nodes as n
from ivr.errors import MenuInvalid, MenuProblem

LANGUAGES = ("zh", "en")
MAX_FILE_BYTES = 1_000_000
_KEYS = re.compile(r"^[0-9*#]{1,4}$")
_HOURS = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")

KIND_CLASSES: dict[str, type[n.Node]] = {
    n.NodeKind.PLAY: n.Play,
    n.NodeKind.MENU: n.Menu,
    n.NodeKind.COLLECT: n.Collect,
    n.NodeKind.LOOKUP: n.Lookup,
    n.NodeKind.BUSINESS_HOURS: n.BusinessHours,
    n.NodeKind.BRANCH: n.Branch,
    n.NodeKind.LANGUAGE: n.LanguageChoice,
    n.NodeKind.QUEUE: n.Queue,
    n.NodeKind.CALLBACK: n.Callback,
    n.NodeKind.MESSAGE: n.Message,
    n.NodeKind.TRANSFER: n.Transfer,
    n.NodeKind.HANGUP: n.Hangup,
}
SURVEY_CLASSES: dict[str, type[n.Node]] = {"survey": n.Survey}
_RENAMED = {"else": "otherwise"}  # YAML key → field, where the field name is a Python keyword


class _Problems:
    def __init__(self, file: str) -> None:
        self.file = file
        self.found: list[MenuProblem] = []

    def add(self, node: str, message: str) -> None:
        self.found.append(MenuProblem(self.file, node, message))


def load_menu(path: str | Path) -> n.MenuDefinition:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise MenuInvalid([MenuProblem(str(path), "", f"cannot read: {exc.strerror}")]) from exc
    return parse_menu(raw, file=str(path), number=path.stem)


def parse_menu(raw: bytes | str, *, file: str, number: str) -> n.MenuDefinition:
    problems = _Problems(file)
    if len(raw) > MAX_FILE_BYTES:
        problems.add("", f"file is larger than {MAX_FILE_BYTES} bytes")
        raise MenuInvalid(problems.found)
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problems.add("", f"not valid YAML{where}: {getattr(exc, 'problem', exc)}")
        raise MenuInvalid(problems.found) from None
    if not isinstance(data, Mapping):
        problems.add("", "the file must be a mapping with languages, fallback_queue, start, prompts, nodes")
        raise MenuInvalid(problems.found)
    menu = _build(data, number, problems)
    if menu is not None:
        _check_graph(menu, problems)
    if problems.found or menu is None:
        raise MenuInvalid(problems.found)
    return menu


def _build(data: Mapping[str, Any], number: str, problems: _Problems) -> n.MenuDefinition | None:
    known = {"number", "languages", "fallback_queue", "start", "prompts", "nodes", "calendar", "survey"}
    for key in data:
        if key not in known:
            problems.add("", f"unknown key {key!r} (known: {', '.join(sorted(known))})")
    if "number" in data and str(data["number"]) != number:
        problems.add("", f"number {data['number']!r} differs from the file name {number!r}")
    languages = data.get("languages", ["zh", "en"])
    if (
        not isinstance(languages, list)
        or not languages
        or any(lang not in LANGUAGES for lang in languages)
        or len(set(languages)) != len(languages)
    ):
        problems.add(
            "", f"languages must be a list of distinct languages among {LANGUAGES}, got {languages!r}"
        )
        languages = ["zh"]
    fallback_queue = data.get("fallback_queue")
    if not isinstance(fallback_queue, str) or not fallback_queue:
        problems.add("", "fallback_queue (the queue used when the IVR fails) is missing")
        fallback_queue = ""
    prompts = _prompts(data.get("prompts"), languages, problems)
    calendar = _calendar(data.get("calendar"), problems)
    survey = None
    raw_survey = data.get("survey")
    if isinstance(raw_survey, Mapping):
        survey = _node("survey", {**raw_survey, "kind": "survey"}, problems, SURVEY_CLASSES)
    elif raw_survey is not None:
        problems.add("survey", "survey must be a mapping with prompt and thanks_prompt")
    raw_nodes = data.get("nodes")
    if not isinstance(raw_nodes, Mapping) or not raw_nodes:
        problems.add("", "nodes is missing or empty")
        return None
    built: dict[str, n.Node] = {}
    for name, spec in raw_nodes.items():
        node = _node(str(name), spec, problems)
        if node is not None:
            built[str(name)] = node
    start = data.get("start")
    if not isinstance(start, str) or start not in raw_nodes:
        problems.add("", f"start {start!r} is not a node of this menu")
        return None
    return n.MenuDefinition(
        number=number,
        file=problems.file,
        languages=tuple(languages),
        fallback_queue=fallback_queue,
        start=start,
        prompts=prompts,
        nodes=built,
        calendar=calendar,
        survey=survey,  # type: ignore[arg-type]
    )


def _prompts(raw: Any, languages: list[str], problems: _Problems) -> dict[str, dict[str, str]]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problems.add("", "prompts must map a prompt name to its text per language")
        return {}
    prompts: dict[str, dict[str, str]] = {}
    for name, texts in raw.items():
        name = str(name)
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
            problems.add("", f"prompt name {name!r} must be lower-case letters, digits, - or _")
            continue
        if not isinstance(texts, Mapping):
            problems.add("", f"prompt {name!r} must map each language to a text")
            continue
        prompts[name] = {str(lang): str(text) for lang, text in texts.items() if text}
    return prompts


def _calendar(raw: Any, problems: _Problems) -> n.CalendarOverrides:
    if raw is None:
        return n.CalendarOverrides()
    days: dict[str, frozenset[date]] = {}
    for key in ("holidays", "workdays"):
        values = raw.get(key, []) if isinstance(raw, Mapping) else None
        if not isinstance(values, list) or not all(isinstance(v, date) for v in values):
            problems.add("", f"calendar.{key} must be a list of dates (YYYY-MM-DD)")
            values = []
        days[key] = frozenset(values)
    return n.CalendarOverrides(holidays=days["holidays"], workdays=days["workdays"])


def _node(
    name: str, spec: Any, problems: _Problems, classes: Mapping[str, type[n.Node]] = KIND_CLASSES
) -> n.Node | None:
    if not isinstance(spec, Mapping):
        problems.add(name, "a node must be a mapping with a kind")
        return None
    kind = spec.get("kind")
    cls = classes.get(kind)  # type: ignore[arg-type]
    if cls is None:
        problems.add(name, f"unknown kind {kind!r} (known: {', '.join(classes)})")
        return None
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "name"}
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {"name": name}
    ok = True
    for key, raw in spec.items():
        if key == "kind":
            continue
        field_name = _RENAMED.get(str(key), str(key))
        if field_name not in fields:
            known = ", ".join(k for k in ("else" if f == "otherwise" else f for f in fields))
            problems.add(name, f"unknown key {key!r} for a {kind} node (known: {known})")
            ok = False
            continue
        try:
            values[field_name] = _coerce(raw, hints[field_name])
        except (TypeError, ValueError) as exc:
            problems.add(name, f"{key}: {exc}")
            ok = False
    # A lookup with no separate not-found target goes on like a found one.
    if cls is n.Lookup and "on_not_found" not in values and "next" in values:
        values["on_not_found"] = values["next"]
    for field_name, field in fields.items():
        required = field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
        if required and field_name not in values:
            shown = "else" if field_name == "otherwise" else field_name
            problems.add(name, f"a {kind} node needs {shown!r}")
            ok = False
    if not ok:
        return None
    node = cls(**values)
    _check_node(node, problems)
    return node


def _coerce(raw: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if raw is None:
            return None
        hint = next(arg for arg in args if arg is not type(None))
        return _coerce(raw, hint)
    if hint is str:
        if isinstance(raw, (str, int)) and not isinstance(raw, bool):
            return str(raw)
        raise TypeError(f"expected text, got {raw!r}")
    if hint is bool:
        if isinstance(raw, bool):
            return raw
        raise TypeError(f"expected true or false, got {raw!r}")
    if hint in (int, float):
        if isinstance(raw, (int, float)) and not isinstance(raw, bool) and raw >= 0:
            return hint(raw)
        raise TypeError(f"expected a number ≥ 0, got {raw!r}")
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(raw)
        except ValueError:
            raise ValueError(f"expected one of {', '.join(m.value for m in hint)}, got {raw!r}") from None
    if hint is n.OpeningHours:
        return _hours(raw)
    if origin is Mapping or origin is dict:
        if not isinstance(raw, Mapping) or not raw:
            raise TypeError(f"expected a non-empty mapping, got {raw!r}")
        return {str(k): _coerce(v, str) for k, v in raw.items()}
    if origin is tuple and args and args[0] is n.BranchRule:
        if not isinstance(raw, list):
            raise TypeError("expected a list of rules")
        return tuple(_rule(item) for item in raw)
    raise TypeError(f"unsupported value {raw!r}")


def _hours(raw: Any) -> n.OpeningHours:
    match = _HOURS.match(raw) if isinstance(raw, str) else None
    if match is None:
        raise ValueError(f'expected opening hours as "HH:MM-HH:MM" (quoted), got {raw!r}')
    oh, om, ch, cm = (int(part) for part in match.groups())
    if ch == 24 and cm == 0:
        ch = 0
    try:
        return n.OpeningHours(time(oh, om), time(ch, cm))
    except ValueError as exc:
        raise ValueError(f"{raw!r}: {exc}") from None


def _rule(raw: Any) -> n.BranchRule:
    if not isinstance(raw, Mapping) or "goto" not in raw:
        raise TypeError(f"a rule is a mapping with goto and conditions, got {raw!r}")
    allowed = {"goto": str, "vip_min": int, "segment": str, "open_complaint": bool, "known": bool}
    values = {}
    for key, value in raw.items():
        if key not in allowed:
            raise ValueError(f"unknown rule key {key!r} (known: {', '.join(allowed)})")
        values[key] = _coerce(value, allowed[key])
    if len(values) == 1:
        raise ValueError(f"the rule to {raw['goto']!r} has no condition (use else)")
    return n.BranchRule(**values)


def _check_node(node: n.Node, problems: _Problems) -> None:
    if isinstance(node, n.Menu):
        for key in node.choices:
            if not _KEYS.match(key):
                problems.add(node.name, f"choice {key!r} is not a DTMF key (0-9, *, #)")
    if isinstance(node, n.LanguageChoice):
        for key, lang in node.choices.items():
            if not _KEYS.match(key):
                problems.add(node.name, f"choice {key!r} is not a DTMF key (0-9, *, #)")
            if lang not in LANGUAGES:
                problems.add(node.name, f"choice {key!r} picks unknown language {lang!r}")
    if isinstance(node, n.Collect) and node.min_digits > node.max_digits:
        problems.add(node.name, f"min_digits {node.min_digits} is more than max_digits {node.max_digits}")
    if isinstance(node, n.BusinessHours) and node.workdays is None and node.restdays is None:
        problems.add(node.name, "never open: give workdays and/or restdays hours")
    if isinstance(node, (n.Menu, n.Collect)) and node.timeout_s <= 0:
        problems.add(node.name, "timeout_s must be more than 0")


def _check_graph(menu: n.MenuDefinition, problems: _Problems) -> None:
    nodes = menu.nodes
    collected = {node.into: node for node in nodes.values() if isinstance(node, n.Collect)}
    for node in (*nodes.values(), *([menu.survey] if menu.survey else [])):
        for label, target in node.targets():
            if target not in nodes:
                problems.add(node.name, f"{label} goes to unknown node {target!r}")
        for prompt in node.prompts():
            texts = menu.prompts.get(prompt)
            if texts is None:
                problems.add(node.name, f"plays prompt {prompt!r}, which is not under prompts")
                continue
            for lang in menu.languages:
                if lang not in texts:
                    problems.add(node.name, f"prompt {prompt!r} has no {lang} text")
        if isinstance(node, n.Lookup) and node.key not in collected:
            problems.add(node.name, f"looks up {node.key!r}, which no collect node fills (into:)")
        if isinstance(node, n.Callback) and node.number_from is not None:
            source = collected.get(node.number_from)
            if source is None or source.format is not n.DigitFormat.PHONE:
                problems.add(node.name, f"number_from {node.number_from!r} is not a collected phone number")
        if isinstance(node, n.LanguageChoice):
            for lang in node.choices.values():
                if lang in LANGUAGES and lang not in menu.languages:
                    problems.add(node.name, f"offers {lang!r}, which is not in the menu's languages")
    if problems.found:
        return
    reachable = _reach(menu.start, lambda name: [t for _, t in nodes[name].targets()])
    for name in nodes:
        if name not in reachable:
            problems.add(name, f"cannot be reached from start {menu.start!r}")
    leads_out = _leads_out(nodes)
    stuck = [name for name in nodes if name in reachable and name not in leads_out]
    for name in stuck:
        loop = " → ".join(_loop_from(name, nodes, set(stuck)))
        problems.add(
            name,
            f"loop with no way out ({loop}): no path from here reaches a queue, callback, "
            "message, transfer or hangup node",
        )


def _reach(start: str, step: Any) -> set[str]:
    seen = {start}
    todo = [start]
    while todo:
        for target in step(todo.pop()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _leads_out(nodes: Mapping[str, n.Node]) -> set[str]:
    parents: dict[str, list[str]] = {name: [] for name in nodes}
    for node in nodes.values():
        for _, target in node.targets():
            parents[target].append(node.name)
    out: set[str] = set()
    for name, node in nodes.items():
        if node.kind in n.TERMINAL_KINDS:
            out |= _reach(name, lambda current: parents[current])
    return out


def _loop_from(name: str, nodes: Mapping[str, n.Node], stuck: set[str]) -> list[str]:
    path = [name]
    current = name
    while True:
        current = next(t for _, t in nodes[current].targets() if t in stuck)
        path.append(current)
        if current in path[:-1]:
            return path[path.index(current) :]
