"""The OpenAPI document: every API route is in it, and the API answers fuzzed requests without a 500."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import pytest

from agent_api.openapi import endpoints_of
from tests.agent_api.stack import Stack, login

NOT_JSON_ROUTES = {("GET", "/api/openapi.json"), ("GET", "/api/ws")}


async def test_every_api_route_is_documented_with_its_roles_and_models(stack: Stack):
    document = await (await stack.client.get("/api/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    documented = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    routed = set()
    for route in stack.app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("formatter") or info.get("path") or ""
        if path.startswith("/api/") and route.method != "HEAD":
            routed.add((route.method, path))
    assert routed - NOT_JSON_ROUTES == documented
    wrapup = document["paths"]["/api/agent/calls/{call_id}/wrapup"]["post"]
    assert wrapup["x-roles"] == ["agent"]
    assert wrapup["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/WrapUpBody")
    assert "WrapUpBody" in document["components"]["schemas"]


async def test_the_document_is_served_without_a_session(stack: Stack):
    response = await stack.client.get("/api/openapi.json")
    assert response.status == 200
    assert len(endpoints_of(stack.app)) == len(
        [op for item in (await response.json())["paths"].values() for op in item]
    )


def _fuzz(
    document: dict,
    base_url: str,
    cookies: dict[str, str],
    csrf: str,
    *,
    cases: Callable[[Any], list[Any]] | None = None,
    max_examples: int = 4,
) -> list[str]:
    """Every operation of ``document`` called with generated cases — what schemathesis draws from
    the schema, or each of the strategies ``cases(operation)`` gives — and what answered a 5xx or
    no answer at all."""
    import hypothesis
    import schemathesis
    from schemathesis.checks import not_a_server_error

    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) == ("DELETE", "/api/session"):
            continue  # logging out would leave the rest of the run without a session
        for strategy in [operation.as_strategy()] if cases is None else cases(operation):

            @hypothesis.settings(
                max_examples=max_examples,
                deadline=None,
                database=None,
                suppress_health_check=list(hypothesis.HealthCheck),
                phases=[hypothesis.Phase.generate],
            )
            @hypothesis.given(case=strategy)
            def check(case) -> None:  # type: ignore[no-untyped-def]
                try:
                    response = case.call(
                        base_url=base_url, headers={"X-CSRF-Token": csrf}, cookies=cookies, timeout=10
                    )
                    case.validate_response(response, checks=[not_a_server_error])
                except Exception as exc:
                    failures.append(f"{case.method} {case.formatted_path} {case.query}: {exc!r:.2000}")
                    raise

            with contextlib.suppress(Exception):  # recorded in failures
                check()
    return failures


@pytest.mark.parametrize("username", ["agent1001", "supervisor", "admin"])
async def test_schemathesis_fuzzing_gets_no_server_error(stack: Stack, username: str):
    csrf = await login(stack.client, username)
    session_id = stack.client.session.cookie_jar.filter_cookies(stack.server.make_url("/"))[
        "hotline_session"
    ].value
    document = await (await stack.client.get("/api/openapi.json")).json()
    # requests runs in a worker thread; the server keeps serving on this loop meanwhile.
    failures = await asyncio.to_thread(_fuzz, document, stack.base_url, {"hotline_session": session_id}, csrf)
    assert failures == []
