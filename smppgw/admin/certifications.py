"""Admin API routes of client certification (smppgw.rig.certify):

POST /api/certifications        {"account": "A", "timeout": 5, "submit_wait": 10, "resubmit_wait": 20,
                                 "min_backoff": 0.5, "rebind_wait": 30}: probe the client bound as a
                                 receiver or transceiver of A (all but account optional); 201 with the report
GET  /api/certifications        every run's report
GET  /api/certifications/{id}   one run's report; ?format=text or ?format=junit for those renderings
"""

from __future__ import annotations

from typing import Any

from twisted.web.server import Request

from ..pipeline.accounts import AccountBook
from ..rig.certification import CertificationError
from ..rig.certify import Addresses, Timings
from ..rig.certify_report import FORMATS, render
from ..rig.rig import Rig
from .http import ApiError, Reply, Result, Route, query_arg, required_text

_TIMINGS = {"timeout": "response", "submit_wait": "submit_wait", "resubmit_wait": "resubmit_wait",
            "min_backoff": "min_backoff", "rebind_wait": "rebind_wait"}  # fmt: skip
_CONTENT = {"text": "text/plain; charset=utf-8", "junit": "application/xml; charset=utf-8"}


class CertificationEndpoints:
    def __init__(self, rig: Rig, accounts: AccountBook) -> None:
        self.rig = rig
        self.accounts = accounts

    def routes(self) -> list[Route]:
        return [
            (b"GET", ("certifications",), self.list),
            (b"POST", ("certifications",), self.start),
            (b"GET", ("certifications", "*"), self.show),
        ]

    def list(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        return Reply(200, {"certifications": self.rig.certifications.reports()})

    def start(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        account = required_text(body, "account")
        state = self.accounts.get(account)
        if state is None:
            raise ApiError(404, f"no account {account!r}", "account")
        timings: dict[str, float] = {}
        for key, name in _TIMINGS.items():
            value = body.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 3600:
                raise ApiError(400, f"{key} must be a number of seconds from 0 to 3600", key)
            timings[name] = float(value)
        try:
            chosen = Timings(**timings)  # type: ignore[arg-type]
        except ValueError as err:
            raise ApiError(400, str(err)) from None
        sources = state.config.source_addrs
        addresses = Addresses(service=sources[0].rstrip("*")) if sources else Addresses()
        try:
            run_id = self.rig.certifications.start(account, self.rig.connections(), chosen, addresses)
        except CertificationError as err:
            raise ApiError(409, str(err), "account") from None
        report = self.rig.certifications.report(run_id)
        return Reply(201, report)

    def show(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        report = self.rig.certifications.report(int(params[0])) if params[0].isdigit() else None
        if report is None:
            raise ApiError(404, f"no certification {params[0]!r}")
        fmt = query_arg(request, "format") or "json"
        if fmt not in FORMATS:
            raise ApiError(400, f"format must be one of {', '.join(FORMATS)}", "format")
        if fmt == "json":
            return Reply(200, report)
        return Reply(200, render(report, fmt).encode("utf-8"), _CONTENT[fmt])


__all__ = ["CertificationEndpoints"]
