"""Hostile shapes for schemathesis: what an outside probe sends, on top of what the schema allows.

:func:`hostile_strategies` gives, per shape that applies to an operation, the cases schemathesis
generates for it bent one way:
a body nested past the depth budget or larger than the size budget, integers past 64 bits,
times without an offset or past the calendar's ends, control characters in every text. The
server must answer each with a 2xx, 3xx or 4xx — never a 5xx.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from agent_api.request_parsing import MAX_BODY_BYTES, MAX_DEPTH

NAIVE_TIMES = ["2026-12-01", "2026-12-01T08:30", "2026-12-01 08:30:00", "2026-11-18T10:00:00.5"]
FAR_TIMES = [
    "0001-01-01T00:00:00+14:00",
    "0001-01-01",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31",
    "1969-12-31T23:59:59Z",
    "275760-09-13T00:00:00Z",
]
HUGE_INTEGERS = [2**63, -(2**63) - 1, 2**64, 10**30, -(2**200)]
CONTROL = [
    "\r\nts=2026-12-01T00:00:00 level=info event=forged",
    "\x1b[2J\x1b]0;owned\x07",
    "\x00",
    "\u2028\u202e",
    "\x85\x9b31m",
]


def nested(depth: int, leaf: Any) -> Any:
    for _ in range(depth):
        leaf = [leaf]
    return leaf


def _map_leaves(value: Any, change: Callable[[Any], Any]) -> Any:
    if isinstance(value, dict):
        return {key: _map_leaves(item, change) for key, item in value.items()}
    if isinstance(value, list):
        return [_map_leaves(item, change) for item in value]
    return change(value)


def _appended(values: dict[str, Any] | None, text: str) -> dict[str, Any]:
    return {name: v + text if isinstance(v, str) else v for name, v in (values or {}).items()}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _kinds(schema: dict[str, Any]) -> set[str]:
    """The types and formats a parameter's schema admits, through anyOf / oneOf (``x | None``)."""
    found = {schema.get("type"), schema.get("format")}
    for branch in schema.get("anyOf", []) + schema.get("oneOf", []):
        found |= _kinds(branch)
    return {kind for kind in found if isinstance(kind, str)}


def _query_kinds(operation: Any) -> dict[str, set[str]]:
    return {p.name: _kinds(p.definition.get("schema", {})) for p in operation.query}


def _bent(operation: Any, shape: str) -> st.SearchStrategy[Any]:
    query = _query_kinds(operation)
    times = [name for name, kinds in query.items() if kinds & {"date-time", "date"}]
    numbers = [name for name, kinds in query.items() if kinds & {"integer", "number"}]

    @st.composite
    def bend(draw: st.DrawFn) -> Any:
        case = draw(operation.as_strategy())
        body = case.body if isinstance(case.body, dict | list) else None
        if shape == "deep" and body is not None:
            depth = draw(st.integers(MAX_DEPTH + 1, 400))  # json.dumps itself stops near 1,000
            if isinstance(body, dict) and body and draw(st.booleans()):
                key = draw(st.sampled_from(sorted(body)))
                case.body = {**body, key: nested(depth, body[key])}
            else:
                case.body = nested(depth, body)
        elif shape == "oversize" and body is not None:
            filler = "x" * (MAX_BODY_BYTES + draw(st.integers(1, 4096)))
            case.body = {**body, "filler": filler} if isinstance(body, dict) else [body, filler]
        elif shape == "huge_integers":
            huge = draw(st.sampled_from(HUGE_INTEGERS))
            if body is not None:
                case.body = _map_leaves(body, lambda v: huge if _is_int(v) else v)
            case.query = {**(case.query or {}), **{name: str(huge) for name in numbers}}
            case.path_parameters = {
                name: str(huge) if _is_int(v) else v for name, v in (case.path_parameters or {}).items()
            }
        elif shape == "times":
            case.query = {
                **(case.query or {}),
                **{name: draw(st.sampled_from(NAIVE_TIMES + FAR_TIMES)) for name in times},
            }
        elif shape == "control":
            text = draw(st.sampled_from(CONTROL))
            if body is not None:  # lone surrogates are left to test_json_body: this client cannot send them
                case.body = _map_leaves(body, lambda v: v + text if isinstance(v, str) else v)
            case.query = _appended(case.query, text)
            case.path_parameters = _appended(case.path_parameters, text)
        return case

    return bend()


def hostile_strategies(operation: Any) -> list[st.SearchStrategy[Any]]:
    """One strategy per hostile shape that applies to ``operation``, so each is tried on it."""
    shapes = ["control", "huge_integers"]
    if list(operation.body):
        shapes += ["deep", "oversize"]
    if any(kinds & {"date-time", "date"} for kinds in _query_kinds(operation).values()):
        shapes.append("times")
    return [_bent(operation, shape) for shape in shapes]
