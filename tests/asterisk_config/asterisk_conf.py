"""Reading and checking asterisk-config/ with pyst2's parser (``asterisk.config``).

pyst2 reads plain ``[name]`` headers and ``name = value`` / ``name => value`` lines (``same =>``
included: the ``>`` is kept apart as the item's style), but it raises ``ParseError`` on what
real Asterisk files are full of: template headers (``[name](!)``, ``[name](tpl1,tpl2)``,
additions ``[name](+)``) and ``#include`` lines. ``AsteriskConfig`` subclasses it and handles
those two, keeping pyst2's ``Category`` / ``Item`` objects for everything else. ``load_files``
then follows ``#include`` the way Asterisk does (in place, relative to the configuration
directory) and ``Section.effective`` applies template inheritance.

The checks (``check_*``) return a list of problems, one sentence each; a good configuration
returns none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asterisk.config

HEADER = re.compile(r"^\[(?P<name>[^\]]+)\](?:\((?P<options>[^)]*)\))?$")
DIRECTIVE = re.compile(r"^#(?P<kind>include|tryinclude|exec)\s+\"?(?P<target>[^\"]+?)\"?$")


class ConfError(ValueError):
    """A file that Asterisk would not load: which file, which line, why."""


class TemplateCategory(asterisk.config.Category):
    """A pyst2 category that also remembers Asterisk's header options."""

    def __init__(self, name: str, number: int, options: str) -> None:
        super().__init__(line="", num=number, name=name)
        parts = [part.strip() for part in options.split(",") if part.strip()]
        self.is_template = "!" in parts
        self.is_addition = "+" in parts
        self.templates = tuple(part for part in parts if part not in {"!", "+"})


class AsteriskConfig(asterisk.config.Config):
    """pyst2's ``Config`` taught template headers and ``#include`` directives."""

    def __init__(self, filename: str | Path) -> None:
        self.directives: list[tuple[int, str, str, int]] = []  # (line, kind, target, categories so far)
        super().__init__(str(filename))

    def parse(self) -> None:
        category = None
        for number, raw in enumerate(self.raw_lines, start=1):
            line = raw.strip()
            if not line or line.startswith(";"):
                self.lines.append(asterisk.config.Line(line, number))
                continue
            text = asterisk.config.Line(line, number).line  # comment removed
            if text.startswith("#"):
                match = DIRECTIVE.match(text)
                if match is None:
                    raise asterisk.config.ParseError(number, f"unknown directive {text!r}")
                self.directives.append((number, match["kind"], match["target"], len(self.categories)))
                continue
            if text.startswith("["):
                match = HEADER.match(text)
                if match is None:
                    raise asterisk.config.ParseError(number, f"bad section header {text!r}")
                category = TemplateCategory(match["name"], number, match["options"] or "")
                self.lines.append(category)
                self.categories.append(category)
                continue
            item = asterisk.config.Item(line, number)
            self.lines.append(item)
            if category is None:
                raise asterisk.config.ParseError(number, "setting outside any section")
            category.append(item)


@dataclass
class Section:
    """One section as Asterisk sees it after includes and ``(+)`` additions."""

    name: str
    file: str
    line: int
    is_template: bool
    templates: tuple[str, ...]
    items: list[tuple[str, str, int]] = field(default_factory=list)  # (key, value, line)

    def values(self, key: str) -> list[str]:
        return [value for name, value, _ in self.items if name == key]

    def get(self, key: str, default: str = "") -> str:
        values = self.values(key)
        return values[-1] if values else default


@dataclass
class ConfTree:
    """Every file of a configuration directory, sections in Asterisk's order."""

    directory: Path
    files: dict[str, list[Section]]
    includes: list[tuple[str, int, str, str]]  # (file, line, kind, target)

    def sections(self, file: str) -> list[Section]:
        return self.files.get(file, [])

    def named(self, file: str, name: str) -> list[Section]:
        return [section for section in self.sections(file) if section.name == name]

    def effective(self, file: str, section: Section) -> list[tuple[str, str, int]]:
        """The section's settings with its templates' settings first, as Asterisk applies them."""
        items: list[tuple[str, str, int]] = []
        for template in section.templates:
            for candidate in self.named(file, template):
                if candidate.is_template:
                    items.extend(self.effective(file, candidate))
        items.extend(section.items)
        return items

    def effective_value(self, file: str, section: Section, key: str) -> str:
        values = [value for name, value, _ in self.effective(file, section) if name == key]
        return values[-1].strip() if values else ""


def parse_file(path: Path) -> AsteriskConfig:
    try:
        return AsteriskConfig(path)
    except asterisk.config.ParseError as exc:
        line, reason = exc.args if len(exc.args) == 2 else ("?", exc)
        raise ConfError(f"{path.name} line {line}: {reason}") from exc


def _read_into(
    sections: list[Section],
    path: Path,
    directory: Path,
    overrides: dict[str, Path],
    includes: list[tuple[str, int, str, str]],
    seen: tuple[Path, ...],
) -> None:
    """Append ``path``'s sections to ``sections``, included files in place, as Asterisk reads them."""
    if path in seen:
        raise ConfError(f"{path.name}: #include loop through {' → '.join(p.name for p in seen)}")
    config = parse_file(path)
    directives = list(config.directives)
    for index, category in enumerate([*config.categories, None]):
        while directives and directives[0][3] == index:
            number, kind, target, _ = directives.pop(0)
            includes.append((path.name, number, kind, target))
            if kind == "exec":
                raise ConfError(f"{path.name} line {number}: #exec runs a program; not allowed")
            included = overrides.get(target) or (directory / target)
            if not included.is_file():
                if kind == "include":
                    raise ConfError(f"{path.name} line {number}: #include {target}: no such file")
                continue
            _read_into(sections, included, directory, overrides, includes, (*seen, path))
        if category is None:
            break
        items = [(item.name, item.value.strip(), item.number) for item in category.items]
        section = Section(
            category.name, path.name, category.number, category.is_template, category.templates, items
        )
        if category.is_addition:
            section.templates = ("+",)
        _merge(sections, section)


def _merge(sections: list[Section], section: Section) -> None:
    if section.templates == ("+",):
        for existing in reversed(sections):
            if existing.name == section.name:
                existing.items.extend(section.items)
                return
        raise ConfError(f"{section.file} line {section.line}: [{section.name}](+) adds to no earlier section")
    sections.append(section)


def load_tree(directory: Path, overrides: dict[str, Path] | None = None) -> ConfTree:
    """Every ``*.conf`` directly in ``directory``; ``overrides`` maps an include target to a file."""
    includes: list[tuple[str, int, str, str]] = []
    files: dict[str, list[Section]] = {}
    for path in sorted(directory.glob("*.conf")):
        sections: list[Section] = []
        _read_into(sections, path, directory, overrides or {}, includes, ())
        files[path.name] = sections
    return ConfTree(directory, files, includes)


# --- dialplan -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    context: str
    exten: str
    label: str
    app: str
    args: str
    line: int


def split_args(text: str, separators: str = ",") -> list[str]:
    """Split at top-level separators, not inside (), [] or ${}."""
    parts, depth, current = [], 0, []
    for char in text:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char in separators and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts]


def _app_call(text: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z_]+)\s*(?:\((.*)\))?\s*$", text, re.S)
    if match is None:
        return text.strip(), ""
    return match[1], match[2] or ""


def dialplan_steps(tree: ConfTree) -> Iterator[Step]:
    for section in tree.sections("extensions.conf"):
        if section.name in {"general", "globals"}:
            continue
        exten = ""
        for key, value, line in section.items:
            if key not in {"exten", "same"}:
                continue
            parts = split_args(value)
            if key == "exten":
                exten, parts = parts[0], parts[1:]
            priority, rest = parts[0], ",".join(parts[1:])
            label = re.search(r"\(([^)]+)\)", priority)
            app, args = _app_call(rest)
            yield Step(section.name, exten, label[1] if label else "", app, args, line)


def _is_dynamic(text: str) -> bool:
    return "${" in text or "$[" in text


def _goto_targets(step: Step) -> Iterator[tuple[str, str]]:
    """(context, exten) pairs a Goto-like step may jump to; exten "" for a label in place."""
    app, args = step.app.lower(), step.args
    destinations: list[str] = []
    if app in {"goto", "gosub"}:
        destinations = [args]
    elif app in {"gotoif", "gosubif"}:
        _, _, branches = args.partition("?") if not args.startswith("$[") else _after_condition(args)
        destinations = [branch for branch in split_args(branches, ":") if branch]
    elif app == "execif":
        _, _, branches = _after_condition(args)
        for branch in split_args(branches, ":"):
            inner_app, inner_args = _app_call(branch)
            yield from _goto_targets(Step(step.context, step.exten, "", inner_app, inner_args, step.line))
        return
    for destination in destinations:
        parts = split_args(re.sub(r"\(.*\)$", "", destination))
        if len(parts) == 3:
            yield parts[0], parts[1]
        elif len(parts) == 2:
            yield step.context, parts[0]
        elif parts and not parts[0].isdigit():
            yield step.context, f"label:{parts[0]}"


def _after_condition(args: str) -> tuple[str, str, str]:
    depth = 0
    for index, char in enumerate(args):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "?" and depth == 0:
            return args[:index], "?", args[index + 1 :]
    return args, "", ""


def _exten_matches(pattern: str, exten: str) -> bool:
    if not pattern.startswith("_"):
        return pattern == exten
    regex = ""
    body = pattern[1:]
    index = 0
    while index < len(body):
        char = body[index]
        if char == "X":
            regex += "[0-9]"
        elif char == "Z":
            regex += "[1-9]"
        elif char == "N":
            regex += "[2-9]"
        elif char == ".":
            regex += ".+"
        elif char == "!":
            regex += ".*"
        elif char == "[":
            end = body.index("]", index)
            regex += body[index : end + 1]
            index = end
        else:
            regex += re.escape(char)
        index += 1
    return re.fullmatch(regex, exten) is not None


def check_dialplan(tree: ConfTree) -> list[str]:
    """Goto / Gosub / GotoIf / ExecIf / include targets and labels exist; Dial targets exist."""
    problems: list[str] = []
    contexts: dict[str, set[str]] = {}
    labels: dict[tuple[str, str], set[str]] = {}
    steps = list(dialplan_steps(tree))
    for step in steps:
        contexts.setdefault(step.context, set()).add(step.exten)
        if step.label:
            labels.setdefault((step.context, step.exten), set()).add(step.label)
    for section in tree.sections("extensions.conf"):
        contexts.setdefault(section.name, set())
        for included in section.values("include"):
            if included not in contexts and not tree.named("extensions.conf", included):
                problems.append(
                    f"extensions.conf line {section.line}: [{section.name}] includes unknown {included}"
                )
    endpoints = {s.name for s in tree.sections("pjsip.conf") if _pjsip_type(tree, s) == "endpoint"}
    for step in steps:
        where = f"extensions.conf line {step.line} ([{step.context}] {step.app})"
        for context, exten in _goto_targets(step):
            if exten.startswith("label:"):
                if exten[6:] not in labels.get((step.context, step.exten), set()):
                    problems.append(f"{where}: no label {exten[6:]!r} in extension {step.exten}")
                continue
            if _is_dynamic(context):
                continue
            if context not in contexts:
                problems.append(f"{where}: goes to unknown context {context}")
                continue
            if _is_dynamic(exten):
                if "i" not in contexts[context]:
                    problems.append(f"{where}: computed extension in [{context}], which has no i extension")
            elif not any(_exten_matches(pattern, exten) for pattern in contexts[context]):
                problems.append(f"{where}: no extension {exten} in [{context}]")
        if step.app.lower() == "dial":
            for target in split_args(step.args)[0].split("&"):
                technology, _, resource = target.partition("/")
                if technology.upper() == "PJSIP" and "@" in resource:
                    endpoint = resource.rpartition("@")[2]
                    if not _is_dynamic(endpoint) and endpoint not in endpoints:
                        problems.append(f"{where}: dials through unknown endpoint {endpoint}")
                elif (
                    technology.upper() == "PJSIP" and not _is_dynamic(resource) and resource not in endpoints
                ):
                    problems.append(f"{where}: dials unknown endpoint {resource}")
                elif technology.lower() == "local":
                    context = resource.partition("@")[2].partition("/")[0]
                    if not _is_dynamic(context) and context not in contexts:
                        problems.append(f"{where}: dials into unknown context {context}")
    for section in tree.sections("pjsip.conf"):
        if section.is_template or _pjsip_type(tree, section) != "endpoint":
            continue
        context = tree.effective_value("pjsip.conf", section, "context")
        if context and context not in contexts:
            problems.append(
                f"pjsip.conf line {section.line}: endpoint {section.name} uses unknown context {context}"
            )
    return problems


# --- queues -------------------------------------------------------------------------------

FALLBACK_SUFFIX = "-fallback"


def _queues(tree: ConfTree) -> dict[str, Section]:
    return {s.name: s for s in tree.sections("queues.conf") if s.name != "general" and not s.is_template}


def _globals(tree: ConfTree) -> dict[str, str]:
    return {
        key: value.strip()
        for section in tree.named("extensions.conf", "globals")
        for key, value, _ in section.items
    }


def check_queues(tree: ConfTree) -> list[str]:
    """Queues the dialplan uses exist, each waiting queue has its -fallback twin, members exist."""
    problems: list[str] = []
    queues = _queues(tree)
    endpoints = {s.name for s in tree.sections("pjsip.conf") if _pjsip_type(tree, s) == "endpoint"}
    waiting = {name for name in queues if not name.endswith(FALLBACK_SUFFIX)}
    for name in waiting:
        if name + FALLBACK_SUFFIX not in queues:
            problems.append(f"queues.conf: waiting queue {name} has no {name}{FALLBACK_SUFFIX} twin")
        if queues[name].values("member") or tree.effective_value("queues.conf", queues[name], "member"):
            problems.append(f"queues.conf: waiting queue {name} has members; Hotline delivers its calls")
        for key, expected in (("joinempty", "yes"), ("leavewhenempty", "no")):
            if tree.effective_value("queues.conf", queues[name], key) != expected:
                problems.append(f"queues.conf: waiting queue {name} needs {key} = {expected} so callers wait")
    for name, section in queues.items():
        if name.endswith(FALLBACK_SUFFIX):
            if name[: -len(FALLBACK_SUFFIX)] not in queues:
                problems.append(f"queues.conf: {name} is the twin of no waiting queue")
            if not section.values("member"):
                problems.append(f"queues.conf: fallback queue {name} has no members")
        for member in section.values("member"):
            interface = member.split(",")[0].strip()
            technology, _, resource = interface.partition("/")
            if technology == "PJSIP" and resource not in endpoints:
                problems.append(f"queues.conf: {name} member {interface} is not a PJSIP endpoint")
    possible = {_globals(tree).get("HOTLINE_DEFAULT_QUEUE", "")}
    for step in dialplan_steps(tree):
        for match in re.finditer(r"Set\(HOTLINE_QUEUE=([^)$]+)\)", f"{step.app}({step.args})"):
            possible.add(match[1].strip())
        if step.app.lower() == "queue":
            queue = split_args(step.args)[0]
            if queue == "${HOTLINE_QUEUE}" or queue == "${HOTLINE_QUEUE}" + FALLBACK_SUFFIX:
                continue  # every value HOTLINE_QUEUE can take is checked below, twins above
            if _is_dynamic(queue):
                problems.append(f"extensions.conf line {step.line}: Queue({queue}) cannot be checked")
            elif queue not in queues:
                problems.append(f"extensions.conf line {step.line}: Queue({queue}) is not in queues.conf")
    for name in sorted(possible):
        if name not in waiting:
            problems.append(f"extensions.conf: HOTLINE_QUEUE may be {name!r}, which is not a waiting queue")
    return problems


# --- pjsip --------------------------------------------------------------------------------


def _pjsip_type(tree: ConfTree, section: Section) -> str:
    return tree.effective_value("pjsip.conf", section, "type")


def check_pjsip(tree: ConfTree) -> list[str]:
    """Templates exist and are templates; every endpoint's AORs and auth exist with that type."""
    problems: list[str] = []
    sections = tree.sections("pjsip.conf")
    by_type: dict[str, set[str]] = {}
    for section in sections:
        for template in section.templates:
            candidates = tree.named("pjsip.conf", template)
            if not candidates:
                problems.append(
                    f"pjsip.conf line {section.line}: [{section.name}] uses unknown template {template}"
                )
            elif not any(candidate.is_template for candidate in candidates):
                problems.append(
                    f"pjsip.conf line {section.line}: [{section.name}] uses {template}, not a template"
                )
        if not section.is_template:
            kind = _pjsip_type(tree, section)
            if not kind:
                problems.append(f"pjsip.conf line {section.line}: [{section.name}] has no type")
            by_type.setdefault(kind, set()).add(section.name)
    for section in sections:
        if section.is_template or _pjsip_type(tree, section) != "endpoint":
            continue
        for key, kind in (("aors", "aor"), ("auth", "auth"), ("outbound_auth", "auth")):
            for name in filter(
                None, (n.strip() for n in tree.effective_value("pjsip.conf", section, key).split(","))
            ):
                if name not in by_type.get(kind, set()):
                    problems.append(
                        f"pjsip.conf: endpoint {section.name} {key} {name} is not a defined {kind}"
                    )
        if not tree.effective_value("pjsip.conf", section, "aors") and section.name not in _identified(tree):
            problems.append(f"pjsip.conf: endpoint {section.name} has no aors and no identify section")
    return problems


def _identified(tree: ConfTree) -> set[str]:
    return {
        tree.effective_value("pjsip.conf", s, "endpoint")
        for s in tree.sections("pjsip.conf")
        if _pjsip_type(tree, s) == "identify"
    }


# --- secrets and the manager --------------------------------------------------------------

SECRET_KEYS = {"password", "secret", "md5_cred"}


def check_secrets(tree: ConfTree, committed: Iterable[Path]) -> list[str]:
    """No secret in a committed file; every auth and AMI user ends up with its own non-empty secret."""
    problems: list[str] = []
    for path in committed:
        config = parse_file(path)
        for category in config.categories:
            for item in category.items:
                if item.name.strip() in SECRET_KEYS:
                    problems.append(f"{path.name} line {item.number}: {item.name.strip()} committed in clear")
    seen: dict[str, str] = {}
    for section in tree.sections("pjsip.conf"):
        if section.is_template or _pjsip_type(tree, section) != "auth":
            continue
        password = tree.effective_value("pjsip.conf", section, "password")
        if not password:
            problems.append(f"pjsip.conf: auth {section.name} has no password")
        elif password in seen:
            problems.append(f"pjsip.conf: auth {section.name} shares its password with {seen[password]}")
        else:
            seen[password] = section.name
    for section in tree.sections("manager.conf"):
        if section.name == "general":
            continue
        if not section.get("secret"):
            problems.append(f"manager.conf: user {section.name} has no secret")
    for file, line, kind, target in tree.includes:
        if target.startswith("secrets/") and kind != "include":
            problems.append(
                f"{file} line {line}: #{kind} {target} would load without its secrets; use #include"
            )
    return problems


ALLOWED_READ = {"call", "agent", "dialplan", "user", "system"}
ALLOWED_WRITE = {"originate", "call", "agent", "reporting"}


def check_manager(tree: ConfTree) -> list[str]:
    """Every AMI user denies everyone, permits single hosts, and holds only the needed classes."""
    problems: list[str] = []
    for section in tree.sections("manager.conf"):
        if section.name == "general":
            continue
        where = f"manager.conf [{section.name}]"
        if "0.0.0.0/0.0.0.0" not in section.values("deny") and "0.0.0.0/0" not in section.values("deny"):
            problems.append(f"{where}: no deny = 0.0.0.0/0.0.0.0 before its permit lines")
        permits = section.values("permit")
        if not permits:
            problems.append(f"{where}: permits no address")
        for permit in permits:
            address, _, mask = permit.partition("/")
            if address in {"0.0.0.0", ""} or mask in {"0", "0.0.0.0"}:
                problems.append(f"{where}: permit {permit} lets in every address")
        for key, allowed in (("read", ALLOWED_READ), ("write", ALLOWED_WRITE)):
            classes = {c.strip() for c in section.get(key).split(",") if c.strip()}
            extra = classes - allowed
            if extra:
                problems.append(f"{where}: {key} grants {', '.join(sorted(extra))}, more than Hotline needs")
    return problems
