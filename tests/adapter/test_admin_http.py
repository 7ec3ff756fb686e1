"""The admin API's HTTP framework on its own: token, routing, JSON bodies and errors, with no gateway."""

from __future__ import annotations

import json
from io import BytesIO
from typing import Any

from twisted.internet.defer import Deferred, fail, succeed
from twisted.web.server import NOT_DONE_YET, Request
from twisted.web.test.requesthelper import DummyRequest

from smppgw.admin.http import AdminResource, ApiError, Reply, Result, Route

TOKEN = "t0ken"


def request(method: bytes, path: str, body: bytes = b"", token: str | None = TOKEN) -> DummyRequest:
    req = DummyRequest(path.lstrip("/").split("/"))
    req.method = method
    req.path = path.encode()
    req.content = BytesIO(body)
    if token is not None:
        req.requestHeaders.addRawHeader(b"authorization", f"Bearer {token}".encode())
    return req


def answer(resource: AdminResource, req: DummyRequest) -> tuple[int, dict[str, Any]]:
    rendered = resource.render(req)
    if rendered == NOT_DONE_YET:
        assert req.finished, "a Deferred answer was not written"
        raw = b"".join(req.written)
    else:
        assert isinstance(rendered, bytes)
        raw = rendered
    return req.responseCode or 200, json.loads(raw)


def echo(request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
    return Reply(200, {"params": list(params), "body": body})


def refuse_later(request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
    return fail(ApiError(409, "taken", "name"))


def later(request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Deferred[Reply]:
    return succeed(Reply(201, {"made": params[0]}))


ROUTES: list[Route] = [
    (b"GET", ("things",), echo),
    (b"POST", ("things",), echo),
    (b"GET", ("things", "*"), echo),
    (b"POST", ("things", "*", "later"), later),
    (b"POST", ("things", "*", "refused"), refuse_later),
]


def test_a_route_gets_its_path_parameters_and_the_json_body() -> None:
    resource = AdminResource(ROUTES, TOKEN)
    assert answer(resource, request(b"GET", "/api/things/a%20b")) == (200, {"params": ["a b"], "body": {}})
    assert answer(resource, request(b"POST", "/api/things/", b'{"x": 1}')) == (200, {"params": [], "body": {"x": 1}})


def test_no_token_or_a_wrong_one_is_refused_before_routing() -> None:
    resource = AdminResource(ROUTES, TOKEN)
    for token in (None, "wrong"):
        req = request(b"GET", "/api/nowhere", token=token)
        status, body = answer(resource, req)
        assert status == 401 and "bearer token" in body["error"]
        assert req.responseHeaders.getRawHeaders(b"www-authenticate") == [b'Bearer realm="smppgw"']


def test_an_unknown_path_is_404_and_a_known_one_with_another_method_is_405_naming_the_allowed() -> None:
    resource = AdminResource(ROUTES, TOKEN)
    assert answer(resource, request(b"GET", "/api/nothing"))[0] == 404
    assert answer(resource, request(b"GET", "/other/things"))[0] == 404
    req = request(b"DELETE", "/api/things")
    assert answer(resource, req) == (405, {"error": "use GET, POST here"})
    assert req.responseHeaders.getRawHeaders(b"allow") == [b"GET, POST"]


def test_a_body_that_is_not_a_json_object_is_400_and_a_huge_one_413() -> None:
    resource = AdminResource(ROUTES, TOKEN)
    status, body = answer(resource, request(b"POST", "/api/things", b"[1, 2]"))
    assert (status, body["error"]) == (400, "the body must be a JSON object")
    assert answer(resource, request(b"POST", "/api/things", b"{nope"))[0] == 400
    assert answer(resource, request(b"POST", "/api/things", b" " * (64 * 1024 + 1)))[0] == 413


def test_deferred_answers_and_deferred_refusals_are_written_when_they_come() -> None:
    resource = AdminResource(ROUTES, TOKEN)
    assert answer(resource, request(b"POST", "/api/things/x/later")) == (201, {"made": "x"})
    assert answer(resource, request(b"POST", "/api/things/x/refused")) == (409, {"error": "taken", "field": "name"})
