"""One entry for the listener: which front a path belongs to, its parse, and its render."""

from __future__ import annotations

from .accounts import CredentialLookup, Limits
from .errors import ApiError, Reason
from .jasmin import jasmin_reply, parse_jasmin, render_jasmin
from .kannel import PATH as KANNEL_PATH
from .kannel import parse_kannel, render_kannel
from .legacy import legacy_path, parse_legacy, render_legacy
from .requests import ApiRequest, Dialect, Op, Rejection, Reply
from .results import Outcome
from .v1 import parse_v1, render_v1
from .wire import HttpRequest, HttpResponse, normalise_path

NOT_FOUND = Reply(Dialect.V1, Op.SEND)


def dialect_for(path: str) -> Dialect | None:
    """The front a path belongs to, None if it is none of them (the listener answers 404)."""
    if legacy_path(path) is not None:
        return Dialect.LEGACY
    key = normalise_path(path)
    if key == KANNEL_PATH or key.startswith("/cgi-bin/"):  # smsbox answers its own 404 text
        return Dialect.KANNEL
    if key == "/v1" or key.startswith("/v1/"):
        return Dialect.V1
    reply = jasmin_reply(key)
    return None if reply is None else reply.dialect


def parse_compat(
    request: HttpRequest, now: float, accounts: CredentialLookup, limits: Limits
) -> ApiRequest | Rejection:
    """The compat front: Kannel's sendsms under /cgi-bin/, Jasmin's HTTP and REST APIs elsewhere."""
    if dialect_for(request.path) is Dialect.KANNEL:
        return parse_kannel(request, now, accounts, limits)
    return parse_jasmin(request, now, accounts, limits)


def parse(request: HttpRequest, now: float, accounts: CredentialLookup, limits: Limits) -> ApiRequest | Rejection:
    """The typed request (or refusal) for any path the listener serves."""
    dialect = dialect_for(request.path)
    if dialect is Dialect.LEGACY:
        return parse_legacy(request, now, accounts, limits)
    if dialect is Dialect.V1:
        return parse_v1(request, now, accounts, limits)
    if dialect in (Dialect.KANNEL, Dialect.JASMIN, Dialect.JASMIN_REST):
        return parse_compat(request, now, accounts, limits)
    return Rejection(NOT_FOUND, ApiError(Reason.NOT_FOUND))


def render(reply: Reply, outcome: Outcome, limits: Limits) -> HttpResponse:
    """The reply bytes of a result (or a refusal) in the dialect of the request it answers."""
    if reply.dialect is Dialect.LEGACY:
        return render_legacy(reply, outcome, limits)
    if reply.dialect is Dialect.KANNEL:
        return render_kannel(reply, outcome, limits)
    if reply.dialect in (Dialect.JASMIN, Dialect.JASMIN_REST):
        return render_jasmin(reply, outcome)
    return render_v1(reply, outcome)
