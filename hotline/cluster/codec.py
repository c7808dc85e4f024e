"""The bus's domain events as JSON, and back: what travels between nodes through the broker.

Events are frozen dataclasses of plain fields (text, numbers, datetimes, enums, tuples, nested
dataclasses, None). The codec reads each class's type hints, so a new event in ``EVENT_MODULES``
travels without code here; an event it cannot encode is reported, never half-sent.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import inspect
import json
import types
import typing
from datetime import datetime
from functools import cache
from typing import Any

# The modules whose events the bus carries between packages.
EVENT_MODULES = ("cti.events", "acd.events", "ivr.events", "recording.events")


class CodecError(ValueError):
    """An event that cannot travel (an unknown type, a field of a kind the codec does not know)."""


@cache
def registry() -> dict[str, type]:
    """Every event class of ``EVENT_MODULES`` by its travelling name (``module:Class``)."""
    found: dict[str, type] = {}
    for module_name in EVENT_MODULES:
        module = importlib.import_module(module_name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if dataclasses.is_dataclass(cls) and cls.__module__ == module_name and "at" in _hints(cls):
                found[f"{module_name}:{cls.__qualname__}"] = cls
    return found


@cache
def _name_of(cls: type) -> str:
    name = f"{cls.__module__}:{cls.__qualname__}"
    if registry().get(name) is not cls:
        raise CodecError(f"{name} is not a travelling event")
    return name


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def encode(event: object) -> str:
    """One event as a JSON text: ``{"t": type name, "f": fields}``."""
    return json.dumps(
        {"t": _name_of(type(event)), "f": _plain(event)}, ensure_ascii=False, separators=(",", ":")
    )


def decode(text: str | bytes) -> object:
    try:
        data = json.loads(text)
        cls = registry()[data["t"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise CodecError(f"not an event: {exc}") from None
    return _build(cls, data["f"])


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (tuple, list)):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise CodecError(f"cannot encode a {type(value).__name__}")


def _build(cls: type, fields: Any) -> object:
    if not isinstance(fields, dict):
        raise CodecError(f"{cls.__name__}: fields must be an object")
    hints = _hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in fields:
            values[f.name] = _value(hints[f.name], fields[f.name])
    try:
        return cls(**values)
    except TypeError as exc:
        raise CodecError(f"{cls.__name__}: {exc}") from None


def _value(hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        if value is None:
            return None
        (inner,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _value(inner, value)
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_value(args[0], item) for item in value)
        return tuple(_value(arg, item) for arg, item in zip(args, value, strict=True))
    if isinstance(hint, type):
        if dataclasses.is_dataclass(hint):
            return _build(hint, value)
        if issubclass(hint, enum.Enum):
            return hint(value)
        if issubclass(hint, datetime):
            return datetime.fromisoformat(value)
        if hint is float and isinstance(value, int):
            return float(value)
    return value
