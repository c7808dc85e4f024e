"""The ACD's queues as data: a YAML file an administrator edits, checked when it is read.

The same checks serve the file and the admin page (``parse_queue``, ``check_queues``), and
``save_queue_file`` writes the queues back in the file's own shape: one mapping per queue, its
settings in a fixed order, only those that differ from the defaults. Comments in the file are not
kept when it is written back (docs/acd-queues-admin.md).
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from acd.errors import AcdConfigError
from acd.models import MaxWaitAction, QueueConfig, Strategy

DEFAULT_QUEUES_FILE = Path(__file__).with_name("queues.yaml")
_FIELDS = {f.name for f in dataclasses.fields(QueueConfig)} - {"name"}
_ORDER = [f.name for f in dataclasses.fields(QueueConfig) if f.name != "name"]
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(QueueConfig) if f.name != "name"}
_ALWAYS = frozenset({"strategy", "service_level_s"})  # written even at their defaults
_ENUMS: Mapping[str, type] = {"strategy": Strategy, "max_wait_action": MaxWaitAction}
_HEADER = """\
# The ACD's queues (written by Hotline's admin page; comments are not kept). Fields: skill
# (defaults to the queue's name), strategy (longest-idle | fewest-calls | best-skill), weight
# (between calls of equal priority, a higher weight goes first), wrapup_s, offer_during_wrapup
# (true: the next call may come while a wrap-up form is still open), service_level_s,
# overflow_after_s + overflow_to, max_wait_s + max_wait_action (callback | message).
"""


def load_queue_file(path: str | Path = DEFAULT_QUEUES_FILE) -> dict[str, QueueConfig]:
    """The queues in ``path``; any problem is an AcdConfigError naming the file and the queue."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AcdConfigError(f"{path}: cannot read the queues file: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise AcdConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, Mapping) or not data:
        raise AcdConfigError(f"{path}: expected a mapping of queue name to its settings")
    queues = {
        str(name): parse_queue(str(name), fields or {}, source=str(path)) for name, fields in data.items()
    }
    check_queues(queues, source=str(path))
    return queues


def parse_queue(name: str, fields: Any, *, source: str = "") -> QueueConfig:
    """One queue from its settings as the file writes them; AcdConfigError says what is wrong."""
    where = f"{source}: " if source else ""
    if not isinstance(fields, Mapping):
        raise AcdConfigError(f"{where}queue {name}: expected a mapping of settings")
    unknown = set(fields) - _FIELDS
    if unknown:
        raise AcdConfigError(
            f"{where}queue {name}: unknown setting(s) {', '.join(sorted(map(str, unknown)))}"
            f" (known: {', '.join(sorted(_FIELDS))})"
        )
    values = dict(fields)
    for key, kind in _ENUMS.items():
        if key in values:
            try:
                values[key] = kind(values[key])
            except ValueError:
                choices = ", ".join(member.value for member in kind)  # type: ignore[attr-defined]
                raise AcdConfigError(
                    f"{where}queue {name}: {key} {values[key]!r} is not one of {choices}"
                ) from None
    try:
        return QueueConfig(name=name, **values)
    except AcdConfigError as exc:
        raise AcdConfigError(f"{where}{exc}") from None
    except TypeError as exc:
        raise AcdConfigError(f"{where}queue {name}: {exc}") from None


def check_queues(queues: Mapping[str, QueueConfig], *, source: str = "") -> None:
    """The rules between queues: at least one, and every overflow target is a queue."""
    where = f"{source}: " if source else ""
    if not queues:
        raise AcdConfigError(f"{where}at least one queue is needed")
    for queue in queues.values():
        if queue.overflow_to and queue.overflow_to not in queues:
            raise AcdConfigError(
                f"{where}queue {queue.name}: overflow_to {queue.overflow_to!r} is not a queue"
            )


def queue_settings(queue: QueueConfig) -> dict[str, Any]:
    """A queue's settings as the file writes them: fixed order, most defaults left out."""
    settings: dict[str, Any] = {}
    for key in _ORDER:
        value = getattr(queue, key)
        if key == "skill" and value == queue.name:
            continue
        shown = key in _ALWAYS or (key == "max_wait_action" and queue.max_wait_s is not None)
        if not shown and (value == _DEFAULTS[key] or (key == "overflow_to" and not value)):
            continue
        if isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, float) and value.is_integer():
            value = int(value)
        settings[key] = value
    return settings


def dump_queues(queues: Mapping[str, QueueConfig]) -> str:
    data = {name: queue_settings(queue) or None for name, queue in queues.items()}
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return _HEADER + body


def save_queue_file(path: str | Path, queues: Mapping[str, QueueConfig]) -> None:
    """Write the queues to ``path`` atomically: a reader (or a crash) sees the old file or the new
    one, never half of one. OSError when the folder is not writable or the disk is full."""
    check_queues(queues, source=str(path))
    path = Path(path)
    text = dump_queues(queues)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(temp, path.stat().st_mode & 0o777)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a folder; the rename is done
    finally:
        os.close(fd)
