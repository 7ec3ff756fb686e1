"""Virtual time: with the gateway's clock at 3600x, a message that expires after its 2-hour
validity period gets its EXPIRED receipt within seconds, dated two hours after its submission."""

from __future__ import annotations

import re
import time
from datetime import datetime

import pytest_twisted
from conftest import DEFAULT_CONFIG, config_text
from smpp_helpers import client, read_receipts, submit_and_wait
from twisted.internet import reactor
from twisted.internet.threads import deferToThread

from smppgw import config as cfg
from smppgw.app.service import GatewayService
from smppgw.rig.virtualtime import VirtualClock


def receipt_dates(pdu) -> tuple[datetime, datetime]:
    text = pdu.short_message.decode("ascii")
    submit = text.split("submit date:")[1][:10]
    done = text.split("done date:")[1][:10]
    return datetime.strptime(submit, "%y%m%d%H%M"), datetime.strptime(done, "%y%m%d%H%M")


@pytest_twisted.ensureDeferred
async def test_validity_expiry_hours_away_in_seconds(tmp_path):
    def real_seconds_of_session_timers(text: str) -> str:
        # At 3600x a 60 s response timeout is 17 ms of real time, which a busy machine can miss:
        # session timers get ten real seconds here, carrier and validity times stay virtual.
        for key in (
            "session_init_timeout",
            "enquire_link_interval",
            "inactivity_timeout",
            "response_timeout",
            "receipt_retry_interval",
        ):
            text = re.sub(rf"(?m)^{key} = \d+", f"{key} = 36000", text)
        return text

    text = config_text(tmp_path / "state" / "smppgw.db", overrides=real_seconds_of_session_timers)
    config = cfg.parse(text, DEFAULT_CONFIG)
    service = GatewayService(config, VirtualClock(reactor, 3600))
    service.startService()
    try:
        port = (await service.smpp_service._waitingForPort).getHost().port

        def run():
            c = client(port)
            started = time.monotonic()
            # ...0002 is never delivered: EXPIRED when its validity (2 hours from now) ends.
            resp = submit_and_wait(c, "13800000002", registered_delivery=1, validity_period="000000020000000R")
            (receipt,) = read_receipts(c, 1, timeout=10)
            waited = time.monotonic() - started
            c.unbind()
            c.disconnect()
            return resp, receipt, waited

        resp, receipt, waited = await deferToThread(run)
    finally:
        await service.stopService()
    assert resp.status == 0
    assert b"stat:EXPIRED" in receipt.short_message
    submitted, done = receipt_dates(receipt)
    assert (done - submitted).total_seconds() in (7200, 7260)  # minute resolution
    assert waited < 6  # two virtual hours are two real seconds
