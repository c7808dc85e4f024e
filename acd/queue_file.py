"""The ACD's queues as data: a YAML file an administrator edits, checked when it is read."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from acd.errors import AcdConfigError
from acd.models import MaxWaitAction, QueueConfig, Strategy

DEFAULT_QUEUES_FILE = Path(__file__).with_name("queues.yaml")
_FIELDS = {f.name for f in dataclasses.fields(QueueConfig)} - {"name"}
_ENUMS: Mapping[str, type] = {"strategy": Strategy, "max_wait_action": MaxWaitAction}


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
    queues = {}
    for name, fields in data.items():
        queues[str(name)] = _queue(path, str(name), fields or {})
    for queue in queues.values():
        if queue.overflow_to and queue.overflow_to not in queues:
            raise AcdConfigError(
                f"{path}: queue {queue.name}: overflow_to {queue.overflow_to!r} is not a queue"
            )
    return queues


def _queue(path: Path, name: str, fields: Any) -> QueueConfig:
    if not isinstance(fields, Mapping):
        raise AcdConfigError(f"{path}: queue {name}: expected a mapping of settings")
    unknown = set(fields) - _FIELDS
    if unknown:
        raise AcdConfigError(
            f"{path}: queue {name}: unknown setting(s) {', '.join(sorted(map(str, unknown)))}"
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
                    f"{path}: queue {name}: {key} {values[key]!r} is not one of {choices}"
                ) from None
    try:
        return QueueConfig(name=name, **values)
    except AcdConfigError as exc:
        raise AcdConfigError(f"{path}: {exc}") from None
    except TypeError as exc:
        raise AcdConfigError(f"{path}: queue {name}: {exc}") from None
