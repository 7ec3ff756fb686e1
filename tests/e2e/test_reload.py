"""Hot reload (POST /api/reload, SIGHUP): a tariff change applies to the next message while the
client stays bound; a broken configuration is refused with its error and the old one stays."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest_twisted
from conftest import FIXTURES, RunningGateway, config_text
from polling import wait_until
from smpp_helpers import client, submit_and_wait
from twisted.internet.threads import deferToThread

TOKEN = "demo-admin-token"


def post_reload(gw: RunningGateway) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(gw.admin_url + "/api/reload", data=b"{}", method="POST")
    req.add_header("Authorization", f"Bearer {TOKEN}")
    try:
        with urllib.request.urlopen(req, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def own_config(tmp_path: Path) -> Path:
    """A writable copy of the demo configuration and its route files."""
    folder = tmp_path / "conf"
    shutil.copytree(FIXTURES, folder)
    return folder / "gateway.toml"


@pytest_twisted.ensureDeferred
async def test_tariff_change_applies_to_the_next_message_on_the_same_bind(
    tmp_path: Path, gateway_factory: Callable[..., Any]
) -> None:
    source = own_config(tmp_path)
    store = tmp_path / "state" / "smppgw.db"
    source.write_text(config_text(store), encoding="utf-8")
    gw: RunningGateway = await gateway_factory(source=source)
    c = await deferToThread(client, gw.smpp_port)
    try:
        first = await deferToThread(submit_and_wait, c, "13800138009")
        assert gw.service.gateway.find(first.message_id.decode()).price == 45  # type: ignore[union-attr]

        source.write_text(config_text(store).replace("CMCC = 45        # 0.045 CNY", "CMCC = 52"), encoding="utf-8")
        status, report = await deferToThread(post_reload, gw)
        assert status == 200 and report["reloaded"] is True and report["restart_needed"] == []
        assert report["rate_plans_changed"] is True

        second = await deferToThread(submit_and_wait, c, "13800138009")
        assert second.status == 0
        assert gw.service.gateway.find(second.message_id.decode()).price == 52  # type: ignore[union-attr]
        assert len(gw.service.factory.sessions_of("demo")) == 1  # the same bind carried both

        source.write_text(config_text(store).replace("CMCC = 45        # 0.045 CNY", 'CMCC = "cheap"'), "utf-8")
        status, refused = await deferToThread(post_reload, gw)
        assert status == 400
        assert "configuration refused" in refused["error"] and "rate_plans.standard.CMCC" in refused["error"]

        third = await deferToThread(submit_and_wait, c, "13800138009")
        assert gw.service.gateway.find(third.message_id.decode()).price == 52  # type: ignore[union-attr]
    finally:
        await deferToThread(c.unbind)
        c.disconnect()


@pytest_twisted.ensureDeferred
async def test_reload_adds_an_account_and_updates_a_carrier_profile(
    tmp_path: Path, gateway_factory: Callable[..., Any]
) -> None:
    source = own_config(tmp_path)
    store = tmp_path / "state" / "smppgw.db"
    source.write_text(config_text(store), encoding="utf-8")
    gw: RunningGateway = await gateway_factory(source=source)
    added = '\n[accounts.demo3]\npassword = "demo9999"\nsource_addrs = ["10690003"]\ninitial_balance = 5000\n'
    text = config_text(store) + added
    source.write_text(text.replace('name = "China Unicom"', 'name = "China Unicom (reloaded)"'), encoding="utf-8")
    status, report = await deferToThread(post_reload, gw)
    assert status == 200, report
    assert report["accounts_added"] == ["demo3"] and report["carriers_updated"] == ["CUCC"]
    assert gw.service.carriers["CUCC"].profile.name == "China Unicom (reloaded)"
    assert gw.service.wallets["demo3"].balance == 5000
    c = await deferToThread(client, gw.smpp_port, "demo3", "demo9999")
    try:
        resp = await deferToThread(submit_and_wait, c, "13800138009", source_addr="10690003")
        assert resp.status == 0
    finally:
        await deferToThread(c.unbind)
        c.disconnect()


@pytest_twisted.ensureDeferred
async def test_reload_reads_the_keyword_rules_again_and_refuses_a_broken_file(
    tmp_path: Path, gateway_factory: Callable[..., Any]
) -> None:
    from smppgw.protocol.constants import CommandStatus  # noqa: PLC0415

    source = own_config(tmp_path)
    store = tmp_path / "state" / "smppgw.db"
    source.write_text(config_text(store), encoding="utf-8")
    keywords = source.parent / "content" / "keywords.toml"
    original = keywords.read_text(encoding="utf-8")
    gw: RunningGateway = await gateway_factory(source=source)

    def ucs2(text: str) -> dict[str, Any]:
        return {"text": text.encode("utf-16-be"), "data_coding": 8}

    c = await deferToThread(client, gw.smpp_port)
    try:
        assert (await deferToThread(submit_and_wait, c, "13800138009", **ucs2("今日彩票推荐"))).status == 0

        extra = '\n[categories.lottery_tips]\nlabel = "彩票推荐"\naction = "reject"\nterms = ["彩票推荐"]\n'
        keywords.write_text(original + extra, encoding="utf-8")
        status, report = await deferToThread(post_reload, gw)
        assert status == 200, report
        assert report["keyword_rules"] == len(gw.service.compliance.rules or ())
        refused = await deferToThread(submit_and_wait, c, "13800138009", **ucs2("今日彩票推荐"))
        assert refused.status == CommandStatus.SMPPGW_RCONTENT  # the next message, on the same bind

        keywords.write_text(original + extra + "\n[categories.broken\nterms = [\n", encoding="utf-8")
        status, answer = await deferToThread(post_reload, gw)
        assert status == 400
        assert "configuration refused" in answer["error"] and "content.keywords" in answer["error"]
        # The rules in force stay: the added rule still refuses, 博彩 is still held for review.
        again = await deferToThread(submit_and_wait, c, "13800138009", **ucs2("今日彩票推荐"))
        assert again.status == CommandStatus.SMPPGW_RCONTENT
        held = await deferToThread(submit_and_wait, c, "13800138009", **ucs2("博彩"))
        assert held.status == 0 and gw.service.compliance.is_held(held.message_id.decode())
        assert len(gw.service.factory.sessions_of("demo")) == 1
    finally:
        await deferToThread(c.unbind)
        c.disconnect()


def test_sighup_reloads_a_running_gateway_process(tmp_path: Path) -> None:
    """The real `smppgw serve` process: SIGHUP applies a new tariff; a broken file is refused and logged."""
    from test_crash_recovery import write_config  # noqa: PLC0415 (its free ports and config writer)

    config, smpp_port, _ = write_config(tmp_path)
    log = tmp_path / "gateway.log"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "smppgw", "serve", "--config", str(config)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        cwd=config.parent,
        env=env,
    )
    try:
        wait_for(lambda: _listening(smpp_port), log)
        c = client(smpp_port)
        assert submit_and_wait(c, "13800138009").status == 0
        good = config.read_text(encoding="utf-8")
        config.write_text(good.replace("CMCC = 45        # 0.045 CNY", "CMCC = 52"), encoding="utf-8")
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "configuration reloaded" in log.read_text(), log)

        config.write_text(good.replace("[billing]", "[billing\n"), encoding="utf-8")
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload refused" in log.read_text(), log)
        assert "not valid TOML" in log.read_text()
        # Still bound on the same session, still answering.
        assert submit_and_wait(c, "13800138009").status == 0
        c.unbind()
        c.disconnect()
    finally:
        proc.terminate()
        proc.wait(10)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def wait_for(condition: Callable[[], bool], log: Path, timeout: float = 20.0) -> None:
    wait_until(condition, timeout, detail=lambda: "gateway log:\n" + log.read_text())
