"""Every JSON body goes through one reader with a size and depth budget: hostile bodies get a 4xx."""

from __future__ import annotations

import contextlib
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_api.errors import BodyTooDeep, InvalidBody
from agent_api.request_parsing import MAX_BODY_BYTES, MAX_DEPTH, decode_json
from tests.agent_api.stack import Stack, login

JSON = {"Content-Type": "application/json"}


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_a_body_within_the_depth_budget_decodes():
    assert decode_json(_nested(MAX_DEPTH)) == json.loads(_nested(MAX_DEPTH))


DEEP = [_nested(MAX_DEPTH + 1), b"[" * 30_000, b'{"a":' * 2_000 + b"1" + b"}" * 2_000]


@pytest.mark.parametrize("body", DEEP)
def test_a_body_nested_past_the_budget_is_refused_as_too_deep(body: bytes):
    with pytest.raises(BodyTooDeep) as caught:
        decode_json(body)
    assert caught.value.status == 400
    assert caught.value.details == {"max_depth": MAX_DEPTH}


def test_brackets_inside_strings_do_not_count_as_depth():
    assert decode_json(json.dumps({"text": "[" * 1000}).encode()) == {"text": "[" * 1000}


@pytest.mark.parametrize("body", [b"not json", b"\xff\xfe", b"{" * 5000, b"1" * 5000])
def test_a_body_that_is_not_json_is_an_invalid_body(body: bytes):
    with pytest.raises(InvalidBody):
        decode_json(body)


@pytest.mark.parametrize(
    "body", [rb'{"a": "\ud800"}', rb'{"\udfff": 1}', rb'["ok", ["x\udc00y"]]', rb'"\ud800"']
)
def test_text_with_a_lone_surrogate_is_an_invalid_body(body: bytes):
    with pytest.raises(InvalidBody, match="surrogate"):
        decode_json(body)


def test_a_surrogate_pair_is_one_character_and_welcome():
    assert decode_json(rb'{"name": "\ud83d\ude00"}') == {"name": "\U0001f600"}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400) | st.text(alphabet='[]{}",:1 ', max_size=400).map(str.encode))
def test_random_bytes_decode_or_raise_a_typed_error(raw: bytes):
    with contextlib.suppress(BodyTooDeep, InvalidBody):
        decode_json(raw)


async def test_a_deeply_nested_login_body_gets_a_400_naming_the_budget(stack: Stack):
    response = await stack.client.post("/api/session", data=b"[" * 30_000, headers=JSON)
    assert response.status == 400
    error = await response.json()
    assert error["error"] == "body_too_deep"
    assert str(MAX_DEPTH) in error["message"]


async def test_a_body_over_the_size_budget_gets_a_413(stack: Stack):
    body = json.dumps({"username": "x" * MAX_BODY_BYTES, "password": "p"})
    response = await stack.client.post("/api/session", data=body, headers=JSON)
    assert response.status == 413
    assert (await response.json())["error"] == "body_too_large"


async def test_a_body_over_the_budget_without_a_length_is_refused_too(stack: Stack):
    async def chunks():
        for _ in range(MAX_BODY_BYTES // 1024 + 2):
            yield b" " * 1024

    response = await stack.client.post("/api/session", data=chunks(), headers=JSON)
    assert response.status == 413


async def test_the_custom_report_preview_reads_its_body_like_every_json_route(stack: Stack):
    csrf = await login(stack.client, "supervisor")
    headers = JSON | {"X-CSRF-Token": csrf}
    deep = await stack.client.post("/reports/custom/preview", data=b"[" * 30_000, headers=headers)
    assert deep.status == 400
    assert (await deep.json())["error"] == "body_too_deep"
    garbage = await stack.client.post("/reports/custom/preview", data=b"{", headers=headers)
    assert garbage.status == 422
    assert (await garbage.json())["error"] == "invalid_body"


async def test_a_lone_surrogate_in_a_report_definition_is_refused_before_the_database(stack: Stack):
    csrf = await login(stack.client, "admin")
    definition = (
        b'{"source": "calls", "date_from": "2026-11-01", "date_to": "2026-11-02", "dimensions": ["queue"],'
        b' "measures": [{"fn": "count"}], "filters": [{"field": "queue", "op": "eq", "value": "\\ud800"}]}'
    )
    for path, body in (
        ("/api/reports/custom/run", b'{"definition": ' + definition + b"}"),
        ("/api/reports/saved", b'{"name": "x", "definition": ' + definition + b"}"),
    ):
        response = await stack.client.post(path, data=body, headers=JSON | {"X-CSRF-Token": csrf})
        assert response.status == 422, path
        assert (await response.json())["error"] == "invalid_body"


async def test_every_json_route_refuses_a_deep_body_as_too_deep(stack: Stack):
    document = await (await stack.client.get("/api/openapi.json")).json()
    routes = {
        (method.upper(), re.sub(r"\{[^}]+\}", "1", path))
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    }
    assert len(routes) >= 10
    refused = set()
    for username in ("agent1001", "supervisor", "admin"):
        headers = JSON | {"X-CSRF-Token": await login(stack.client, username)}
        for method, path in sorted(routes - refused):
            response = await stack.client.request(method, path, data=b"[" * 30_000, headers=headers)
            assert response.status < 500, (method, path)
            if response.status == 400 and (await response.json())["error"] == "body_too_deep":
                refused.add((method, path))
    assert refused == routes
