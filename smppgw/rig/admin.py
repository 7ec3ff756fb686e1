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
GET    /api/sessions/{id}/scorecard what the client of an SMPP session (live or ended) did wrong
GET    /api/accounts/{id}/record    whether the account's new sessions are recorded
POST   /api/accounts/{id}/record    record the account's sessions opened from now on
DELETE /api/accounts/{id}/record    stop recording new sessions
GET    /api/sessions/{id}/recording a recorded session as JSON lines (see smppgw.rig.recording)
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from twisted.logger import Logger
from twisted.web.server import Request

from ..admin.api import ApiError, Handler, Reply, Result
from ..config.rig import faults_from_dict
from .receipts import shape_from_dict
from .recording import export
from .scorecard import scorecard_text

if TYPE_CHECKING:
    from ..app.service import GatewayService

log = Logger()


def rig_routes(service: GatewayService) -> list[tuple[bytes, tuple[str, ...], Handler]]:
    rig = service.rig

    def show(request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        return Reply(200, rig.status())

    def start(request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        text = body.get("toml")
        if not isinstance(text, str):
            raise ApiError(400, "toml must be the scenario file's text", "toml")
        try:
            run = rig.prepare(text, "scenario")
        except ValueError as err:
            raise ApiError(400, str(err), "toml") from None
        rig.start(run)
        return Reply(201, rig.status())

    def stop(request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        if not rig.stop():
            raise ApiError(404, "no scenario is running")
        return Reply(200, rig.status())

    def account(params: tuple[str, ...]) -> str:
        if service.accounts.get(params[0]) is None:
            raise ApiError(404, f"no account {params[0]!r}")
        return params[0]

    def faults_reply(system_id: str) -> Reply:
        armed = rig.faults.all_of(system_id)
        every = rig.faults.get(system_id)
        return Reply(
            200,
            {
                "account": system_id,
                "faults": None if every is None else dataclasses.asdict(every),
                "bind_types": {f.bind_type: dataclasses.asdict(f) for f in armed if f.bind_type},
            },
        )

    def show_faults(request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        return faults_reply(account(params))

    def set_faults(request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        system_id = account(params)
        try:
            faults = faults_from_dict(body, "faults")
        except ValueError as err:
            raise ApiError(400, str(err)) from None
        rig.faults.set(system_id, faults)
        return faults_reply(system_id)

    def clear_faults(request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        if not rig.faults.clear(account(params)):
            raise ApiError(404, f"no faults on {params[0]!r}")
        return faults_reply(params[0])

    def show_receipts(request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        shape = rig.receipts.get(account(params))
        return Reply(200, {"account": params[0], "receipts": None if shape is None else dataclasses.asdict(shape)})

    def set_receipts(request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        system_id = account(params)
        try:
            shape = shape_from_dict(body, "receipts")
        except ValueError as err:
            raise ApiError(400, str(err)) from None
        rig.receipts.set(system_id, shape)
        return Reply(200, {"account": system_id, "receipts": dataclasses.asdict(shape)})

    def clear_receipts(request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        if not rig.receipts.clear(account(params)):
            raise ApiError(404, f"no receipt shape on {params[0]!r}")
        return Reply(200, {"account": params[0], "receipts": None})

    def scorecard(request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        card = rig.scorecards.get(int(params[0])) if params[0].isdigit() else None
        if card is None:
            raise ApiError(404, f"no session {params[0]!r} (ids are in GET /api/sessions)")
        report = card.to_json()
        return Reply(200, {**report, "text": scorecard_text(report)})

    def card_of(params: tuple[str, ...]) -> Any:
        card = rig.scorecards.get(int(params[0])) if params[0].isdigit() else None
        if card is None:
            raise ApiError(404, f"no session {params[0]!r} (ids are in GET /api/sessions)")
        return card

    def show_record(request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        system_id = account(params)
        return Reply(200, {"account": system_id, "recording": system_id in rig.scorecards.recorded})

    def start_record(request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        system_id = account(params)
        rig.scorecards.recorded = rig.scorecards.recorded | {system_id}
        return Reply(200, {"account": system_id, "recording": True})

    def stop_record(request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        system_id = account(params)
        rig.scorecards.recorded = rig.scorecards.recorded - {system_id}
        return Reply(200, {"account": system_id, "recording": False})

    def recording(request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        card = card_of(params)
        if card.recording is None:
            raise ApiError(404, f"session {params[0]} was not recorded (POST /api/accounts/{{id}}/record first)")
        return Reply(200, export(card).encode(), "application/x-ndjson")

    return [
        (b"GET", ("sessions", "*", "recording"), recording),
        (b"GET", ("accounts", "*", "record"), show_record),
        (b"POST", ("accounts", "*", "record"), start_record),
        (b"DELETE", ("accounts", "*", "record"), stop_record),
        (b"GET", ("sessions", "*", "scorecard"), scorecard),
        (b"GET", ("accounts", "*", "receipts"), show_receipts),
        (b"POST", ("accounts", "*", "receipts"), set_receipts),
        (b"DELETE", ("accounts", "*", "receipts"), clear_receipts),
        (b"GET", ("accounts", "*", "faults"), show_faults),
        (b"POST", ("accounts", "*", "faults"), set_faults),
        (b"DELETE", ("accounts", "*", "faults"), clear_faults),
        (b"GET", ("scenario",), show),
        (b"POST", ("scenario",), start),
        (b"DELETE", ("scenario",), stop),
    ]
