"""Admin API routes of the rig:

GET    /api/scenario        the running scenario, or null
POST   /api/scenario        {"toml": "<scenario file text>"}: start it (replacing the one running)
DELETE /api/scenario        stop it and put the carriers back as configured
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twisted.logger import Logger
from twisted.web.server import Request

from ..admin.api import ApiError, Handler, Reply, Result

if TYPE_CHECKING:
    from ..service import GatewayService

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

    return [
        (b"GET", ("scenario",), show),
        (b"POST", ("scenario",), start),
        (b"DELETE", ("scenario",), stop),
    ]
