"""Typed endpoints and the OpenAPI 3 document generated from them.

Every JSON route is declared with :func:`endpoint`: its method, path, the roles allowed, and
pydantic models for the query, the body and the answer. The same declaration parses the request
(agent_api/request_parsing.py: 4xx with the field errors on bad input), checks the session, the
role and the CSRF token, serializes the answer, and is the one source of the OpenAPI document, so
the document cannot drift from the handlers.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from agent_api.errors import ApiError, CsrfFailed, Forbidden, InvalidBody, NotAuthenticated
from agent_api.request_parsing import CENTER_TZ, parse_body, parse_query
from agent_api.security import CSRF_HEADER, Principal, Role, principal_of, same_token

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_PATH_PARAM = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)\}")


class ErrorBody(BaseModel):
    error: str
    message: str
    details: dict[str, Any] = {}


Handler = Callable[..., Awaitable[BaseModel | web.StreamResponse | None]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    roles: frozenset[Role] | None  # None: no session needed
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None  # None: 204 No Content
    tag: str = ""
    path_types: tuple[tuple[str, str], ...] = ()  # (name, "integer"|"string"), default string
    produces: str = "application/json"  # anything else: the handler streams its own response


ENDPOINTS_KEY: web.AppKey[list[Endpoint]] = web.AppKey("endpoints", list)


def endpoint(
    method: str,
    path: str,
    *,
    summary: str,
    roles: Iterable[Role] | None,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    tag: str = "",
    path_types: dict[str, str] | None = None,
    produces: str = "application/json",
) -> Callable[[Handler], Endpoint]:
    def wrap(handler: Handler) -> Endpoint:
        return Endpoint(
            method=method.upper(),
            path=path,
            handler=handler,
            summary=summary,
            roles=frozenset(roles) if roles is not None else None,
            body=body,
            query=query,
            response=response,
            tag=tag,
            path_types=tuple((path_types or {}).items()),
            produces=produces,
        )

    return wrap


def error_response(error: ApiError) -> web.Response:
    body = ErrorBody(error=error.error_id, message=error.message, details=error.details)
    headers = dict(error.headers)
    retry_after = getattr(error, "retry_after_s", None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return web.json_response(body.model_dump(), status=error.status, headers=headers)


def check_access(request: web.Request, spec: Endpoint) -> Principal | None:
    """The caller's principal, after the session, role and CSRF checks the endpoint asks for."""
    if spec.roles is None:
        return principal_of(request)
    principal = principal_of(request)
    if principal is None:
        raise NotAuthenticated("log in first")
    if spec.roles and not principal.roles.intersection(spec.roles):
        raise Forbidden(
            "your roles do not allow this", details={"needs": sorted(r.value for r in spec.roles)}
        )
    if spec.method not in SAFE_METHODS and not same_token(
        request.headers.get(CSRF_HEADER, ""), principal.csrf_token
    ):
        raise CsrfFailed(f"missing or wrong {CSRF_HEADER} header; reload the page")
    return principal


def _parse_path(request: web.Request, spec: Endpoint) -> dict[str, Any]:
    values: dict[str, Any] = dict(request.match_info)
    for name, kind in spec.path_types:
        if kind == "integer":
            raw = values.get(name, "")
            if not re.fullmatch(r"-?[0-9]{1,18}", raw):
                raise InvalidBody(f"path parameter {name} must be an integer")
            values[name] = int(raw)
    return values


def as_view(spec: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def view(request: web.Request) -> web.StreamResponse:
        try:
            principal = check_access(request, spec)
            kwargs: dict[str, Any] = _parse_path(request, spec)
            if spec.query is not None:
                kwargs["query"] = parse_query(request.query, spec.query, request.app[CENTER_TZ])
            if spec.body is not None:
                kwargs["body"] = await parse_body(request, spec.body)
            result = await spec.handler(request, principal, **kwargs)
        except ApiError as error:
            return error_response(error)
        if result is None:
            return web.Response(status=204)
        if isinstance(result, web.StreamResponse):
            return result
        return web.Response(body=result.model_dump_json(), content_type="application/json")

    view.__name__ = spec.handler.__name__
    return view


def add_endpoints(app: web.Application, endpoints: Iterable[Endpoint]) -> None:
    if ENDPOINTS_KEY not in app:
        app[ENDPOINTS_KEY] = []
    registry = app[ENDPOINTS_KEY]
    for spec in endpoints:
        if spec.method == "GET":  # HEAD too, answered like GET without the body
            app.router.add_get(spec.path, as_view(spec))
        else:
            app.router.add_route(spec.method, spec.path, as_view(spec))
        registry.append(spec)


def endpoints_of(app: web.Application) -> list[Endpoint]:
    return list(app.get(ENDPOINTS_KEY, []))


# --- the document ------------------------------------------------------------------------------


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _error_responses(spec: Endpoint) -> dict[str, Any]:
    ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
    codes: dict[str, str] = {}
    if spec.query is not None or spec.body is not None:
        codes["400"] = "bad query parameters, or a body nested too deep"
    if spec.body is not None:
        codes["413"] = "body too large"
    if spec.body is not None or spec.path_types:
        codes["422"] = "body or path parameter does not match the schema"
    if spec.roles is not None:
        codes |= {"401": "not logged in", "403": "role or CSRF check failed"}
    return {code: {"description": text, **ref} for code, text in codes.items()}


def openapi_document(endpoints: Iterable[Endpoint], *, title: str, version: str) -> dict[str, Any]:
    components: dict[str, Any] = {}
    _schema(ErrorBody, components)
    paths: dict[str, Any] = {}
    for spec in endpoints:
        operation: dict[str, Any] = {
            "operationId": spec.handler.__name__,
            "summary": spec.summary,
            "tags": [spec.tag] if spec.tag else [],
        }
        types = dict(spec.path_types)
        parameters = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": types.get(name, "string"), **({} if name in types else {"minLength": 1})},
            }
            for name in _PATH_PARAM.findall(spec.path)
        ]
        if spec.query is not None:
            query_schema = spec.query.model_json_schema()
            required = set(query_schema.get("required", []))
            for name, prop in query_schema.get("properties", {}).items():
                parameters.append({"name": name, "in": "query", "required": name in required, "schema": prop})
        if parameters:
            operation["parameters"] = parameters
        if spec.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _schema(spec.body, components)}},
            }
        if spec.produces != "application/json":
            responses: dict[str, Any] = {
                "200": {"description": "OK", "content": {spec.produces: {"schema": {"type": "string"}}}}
            }
        elif spec.response is None:
            responses = {"204": {"description": "done"}}
        else:
            responses = {
                "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": _schema(spec.response, components)}},
                }
            }
        responses |= _error_responses(spec)
        operation["responses"] = responses
        if spec.roles is not None:
            operation["security"] = [{"session": []}]
            operation["x-roles"] = sorted(r.value for r in spec.roles)
        paths.setdefault(spec.path, {})[spec.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "hotline_session"},
            },
        },
    }
