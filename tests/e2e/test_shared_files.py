"""The files a shared configuration names: copied by the other nodes into a per-generation folder
of their own (relative names keep their layout, absolute ones and ones outside the configuration's
folder are copied too) and read from there; a configuration whose files are too big is not shared."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from conftest import FIXTURES, start_gateway
from haproxy_cluster import on_postgres
from test_e2e_compliance import api
from twisted.logger import formatEvent, globalLogPublisher

from smppgw import shared_files
from smppgw.config import parse


def test_another_nodes_files_are_read_from_its_copies_wherever_they_were_named(tmp_path: Path) -> None:
    elsewhere = tmp_path / "ops" / "plan.csv"
    elsewhere.parent.mkdir()
    elsewhere.write_text("prefix,carrier\n130,CUCC\n194,CTCC\n", encoding="utf-8")
    text = (FIXTURES / "gateway.toml").read_text(encoding="utf-8")
    text = text.replace('"routes/china-number-plan.csv"', f'"{elsewhere}"')
    text = text.replace('"content/keywords.toml"', '"../fixtures/content/keywords.toml"')
    sharing = parse(text, FIXTURES / "gateway.toml")  # the node that reloads: its own files
    assert sharing.files[str(elsewhere)] == elsewhere
    assert sharing.files["routes/ported.csv"] == FIXTURES / "routes" / "ported.csv"
    contents = shared_files.read(sharing.files)

    # Another node, whose configuration is elsewhere and has none of these files, copies them.
    node = tmp_path / "node-b"
    stale = shared_files.folder(node / "state", 1)
    stale.mkdir(parents=True)
    copies = shared_files.write(shared_files.folder(node / "state", 2), contents)
    assert not stale.exists()  # only the current generation's copies stay
    generation = node / "state" / "shared-config" / "2"
    assert copies["routes/ported.csv"] == generation / "routes" / "ported.csv"
    assert all(path.is_relative_to(generation) for path in copies.values())
    assert {copies[w].read_bytes() for w in contents} == set(contents.values())

    applied = parse(text, node / "node-b.toml", copies)
    assert applied.routing.number_plan == copies[str(elsewhere)]
    assert applied.routing.number_plan.read_text(encoding="utf-8").endswith("194,CTCC\n")
    assert applied.content.keywords == copies["../fixtures/content/keywords.toml"]
    assert applied.routing.international == generation / "routes" / "international.csv"
    assert shared_files.write(shared_files.folder(node / "state", 3), {}) == {}  # a configuration naming none
    assert not generation.exists()


def test_files_over_the_limit_are_refused_naming_their_sizes(tmp_path: Path) -> None:
    big, small = tmp_path / "big.csv", tmp_path / "small.csv"
    big.write_bytes(b"x" * 3_000_000)
    small.write_bytes(b"y" * 1000)
    with pytest.raises(shared_files.ShareRefusedError, match=r"3\.0 MB in all \(largest routes/big\.csv, 3\.0 MB\)"):
        shared_files.read({"routes/big.csv": big, "small.csv": small}, limit=2_000_000)
    assert shared_files.read({"small.csv": small}, limit=2_000_000) == {"small.csv": b"y" * 1000}


@pytest_twisted.ensureDeferred
async def test_a_reload_whose_files_are_too_big_applies_on_its_node_only(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shared_files, "SHARE_LIMIT", 1000)  # the demo's route files weigh more
    running = await start_gateway(tmp_path, on_postgres(pg_url))
    events: list[dict[str, Any]] = []
    globalLogPublisher.addObserver(events.append)
    try:
        status, body = await api(running, "POST", "/api/reload", {})
        cluster = running.service.cluster
        assert cluster is not None and cluster.store.shared_config() is None  # no other node moves
    finally:
        globalLogPublisher.removeObserver(events.append)
        await running.service.stopService()
    assert status == 200 and body["routes"] > 0, body
    warned = [formatEvent(e) for e in events if "applies on this node only" in formatEvent(e)]
    assert warned and "over the 0.001 MB a cluster shares" in warned[0], warned
