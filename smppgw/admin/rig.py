"""Admin API routes of the rig:

GET    /api/scenario        the running scenario, or null
POST   /api/scenario        {"toml": "<scenario file text>"}: start it (replacing the one running)
DELETE /api/scenario        stop it and put the carriers back as configured
GET    /api/accounts/{id}/faults    the protocol faults injected on the account's binds
POST   /api/accounts/{id}/faults    set them (keys: see smppgw.config.rig), replacing earlier ones of
                                    the same bind_type (absent: every bind)
DELETE /api/accounts/{id}/faults    stop injecting (every bind type)
GET    /api/accounts/{id}/receipts  the receipt shape of the account, or null
POST   /api/accounts/{id}/receipts  set it (keys: see smppgw.rig.receipts), replacing the earlier one
DELETE /api/accounts/{id}/receipts  back to plain receipts
GET    /api/accounts/{id}/outbind   where the gateway outbinds to for the account's receipts, or null
POST   /api/accounts/{id}/outbind   set it ({"address": "host:port", "system_id", "password",
                                    "retry_min_s", "retry_max_s"}; see smppgw.config.rig)
DELETE /api/accounts/{id}/outbind   no outbind
GET    /api/sessions/{id}/scorecard what the client of an SMPP session (live or ended) did wrong
GET    /api/accounts/{id}/record    whether the account's new sessions are recorded
POST   /api/accounts/{id}/record    record the account's sessions opened from now on
DELETE /api/accounts/{id}/record    stop recording new sessions
GET    /api/sessions/{id}/recording a recorded session as JSON lines (see smppgw.rig.recording)
"""

from __future__ import annotations

import dataclasses
from typing import Any

from twisted.web.server import Request

from ..config.rig import OutbindTarget, faults_from_dict, outbind_from_dict, outbind_to_dict
from ..pipeline.accounts import AccountBook
from ..rig.receipts import shape_from_dict
from ..rig.recording import export
from ..rig.rig import Rig
from ..rig.scorecard import Scorecard, scorecard_text
from .http import ApiError, Reply, Result, Route


class RigEndpoints:
    """The rig's handlers: scenarios, injected faults, receipt shapes, scorecards and recordings."""

    def __init__(self, rig: Rig, accounts: AccountBook) -> None:
        self.rig = rig
        self.accounts = accounts

    def routes(self) -> list[Route]:
        return [
            (b"GET", ("sessions", "*", "recording"), self.recording),
            (b"GET", ("accounts", "*", "record"), self.show_record),
            (b"POST", ("accounts", "*", "record"), self.start_record),
            (b"DELETE", ("accounts", "*", "record"), self.stop_record),
            (b"GET", ("sessions", "*", "scorecard"), self.scorecard),
            (b"GET", ("accounts", "*", "receipts"), self.show_receipts),
            (b"POST", ("accounts", "*", "receipts"), self.set_receipts),
            (b"DELETE", ("accounts", "*", "receipts"), self.clear_receipts),
            (b"GET", ("accounts", "*", "outbind"), self.show_outbind),
            (b"POST", ("accounts", "*", "outbind"), self.set_outbind),
            (b"DELETE", ("accounts", "*", "outbind"), self.clear_outbind),
            (b"GET", ("accounts", "*", "faults"), self.show_faults),
            (b"POST", ("accounts", "*", "faults"), self.set_faults),
            (b"DELETE", ("accounts", "*", "faults"), self.clear_faults),
            (b"GET", ("scenario",), self.show_scenario),
            (b"POST", ("scenario",), self.start_scenario),
            (b"DELETE", ("scenario",), self.stop_scenario),
        ]

    def _account(self, params: tuple[str, ...]) -> str:
        if self.accounts.get(params[0]) is None:
            raise ApiError(404, f"no account {params[0]!r}")
        return params[0]

    def _card(self, params: tuple[str, ...]) -> Scorecard:
        card = self.rig.scorecards.get(int(params[0])) if params[0].isdigit() else None
        if card is None:
            raise ApiError(404, f"no session {params[0]!r} (ids are in GET /api/sessions)")
        return card

    # ---- scenarios ----------------------------------------------------------------------------

    def show_scenario(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        return Reply(200, self.rig.status())

    def start_scenario(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        text = body.get("toml")
        if not isinstance(text, str):
            raise ApiError(400, "toml must be the scenario file's text", "toml")
        try:
            run = self.rig.prepare(text, "scenario")
        except ValueError as err:
            raise ApiError(400, str(err), "toml") from None
        self.rig.start(run)
        return Reply(201, self.rig.status())

    def stop_scenario(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        if not self.rig.stop():
            raise ApiError(404, "no scenario is running")
        return Reply(200, self.rig.status())

    # ---- protocol faults ----------------------------------------------------------------------

    def _faults_reply(self, system_id: str) -> Reply:
        armed = self.rig.faults.all_of(system_id)
        every = self.rig.faults.get(system_id)
        return Reply(
            200,
            {
                "account": system_id,
                "faults": None if every is None else dataclasses.asdict(every),
                "bind_types": {f.bind_type: dataclasses.asdict(f) for f in armed if f.bind_type},
            },
        )

    def show_faults(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        return self._faults_reply(self._account(params))

    def set_faults(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        system_id = self._account(params)
        try:
            faults = faults_from_dict(body, "faults")
        except ValueError as err:
            raise ApiError(400, str(err)) from None
        self.rig.faults.set(system_id, faults)
        return self._faults_reply(system_id)

    def clear_faults(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        if not self.rig.faults.clear(self._account(params)):
            raise ApiError(404, f"no faults on {params[0]!r}")
        return self._faults_reply(params[0])

    # ---- outbind ------------------------------------------------------------------------------

    def _outbind_reply(self, system_id: str, target: OutbindTarget | None) -> Reply:
        shown = None
        if target is not None:
            shown = outbind_to_dict(target)
            del shown["password"]  # a secret: never shown
        return Reply(200, {"account": system_id, "outbind": shown})

    def show_outbind(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        system_id = self._account(params)
        return self._outbind_reply(system_id, self.rig.outbinds.get(system_id))

    def set_outbind(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        system_id = self._account(params)
        try:
            target = outbind_from_dict(body, "outbind")
        except ValueError as err:
            raise ApiError(400, str(err)) from None
        self.rig.outbinds.set(system_id, target)
        return self._outbind_reply(system_id, target)

    def clear_outbind(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        if not self.rig.outbinds.clear(self._account(params)):
            raise ApiError(404, f"no outbind on {params[0]!r}")
        return self._outbind_reply(params[0], None)

    # ---- receipt shapes -----------------------------------------------------------------------

    def show_receipts(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        shape = self.rig.receipts.get(self._account(params))
        return Reply(200, {"account": params[0], "receipts": None if shape is None else dataclasses.asdict(shape)})

    def set_receipts(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        system_id = self._account(params)
        try:
            shape = shape_from_dict(body, "receipts")
        except ValueError as err:
            raise ApiError(400, str(err)) from None
        self.rig.receipts.set(system_id, shape)
        return Reply(200, {"account": system_id, "receipts": dataclasses.asdict(shape)})

    def clear_receipts(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        if not self.rig.receipts.clear(self._account(params)):
            raise ApiError(404, f"no receipt shape on {params[0]!r}")
        return Reply(200, {"account": params[0], "receipts": None})

    # ---- scorecards and recordings ------------------------------------------------------------

    def scorecard(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        report = self._card(params).to_json()
        return Reply(200, {**report, "text": scorecard_text(report)})

    def show_record(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        system_id = self._account(params)
        return Reply(200, {"account": system_id, "recording": system_id in self.rig.scorecards.recorded})

    def start_record(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        system_id = self._account(params)
        self.rig.scorecards.recorded = self.rig.scorecards.recorded | {system_id}
        return Reply(200, {"account": system_id, "recording": True})

    def stop_record(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        system_id = self._account(params)
        self.rig.scorecards.recorded = self.rig.scorecards.recorded - {system_id}
        return Reply(200, {"account": system_id, "recording": False})

    def recording(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        card = self._card(params)
        if card.recording is None:
            raise ApiError(404, f"session {params[0]} was not recorded (POST /api/accounts/{{id}}/record first)")
        return Reply(200, export(card).encode(), "application/x-ndjson")


__all__ = ["RigEndpoints"]
