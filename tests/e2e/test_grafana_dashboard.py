"""docs/grafana/smppgw-dashboard.json: a dashboard Grafana imports as it is, whose every query reads
metrics a running gateway exports, with the labels they carry and functions that fit their type."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import pytest_twisted
import smpplib.client
import smpplib.exceptions
from conftest import ROOT, RunningGateway
from polling import wait_until
from prometheus_client.parser import text_string_to_metric_families
from promql_names import Family, metric_refs, problems, series_index, variable_query_refs
from smpp_helpers import client, submit_and_wait
from twisted.internet.threads import deferToThread

DASHBOARD = ROOT / "docs" / "grafana" / "smppgw-dashboard.json"
DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
# Grafana's own variables, which a query may use without the dashboard defining them.
BUILTIN_VARIABLES = {"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s", "__range_ms"}


def load() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return dashboard


def all_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, those inside a collapsed row too."""
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def exported_families(text: str) -> list[Family]:
    families = []
    for family in text_string_to_metric_families(text):
        labels = {label for sample in family.samples for label in sample.labels} - {"le"}
        families.append(Family(family.name, family.type, frozenset(labels)))
    return families


def scrape_text(gw: RunningGateway) -> str:
    with urllib.request.urlopen(gw.admin_url + "/metrics", timeout=5) as response:
        return str(response.read().decode())


def drive_traffic(gw: RunningGateway) -> None:
    """Submits with receipts, content refused and content that suspends an account (an incident), and
    a bind refused, so the labelled series exist."""
    c = client(gw.smpp_port)
    try:
        for destination in ("13800138001", "13900139002", "13000130003", "13800000000"):  # CMCC, CUCC; 0000: UNDELIV
            assert submit_and_wait(c, destination, registered_delivery=1).status == 0
        refused = submit_and_wait(c, "13800138004", text="代开发票".encode("utf-16-be"), data_coding=8)
        assert refused.status == 0x402  # a content rule: counted by status, no incident
    finally:
        c.unbind()
        c.disconnect()
    other = client(gw.smpp_port, "demo2", "demo5678")
    try:
        text = "号召颠覆国家政权".encode("utf-16-be")
        assert submit_and_wait(other, "13800138005", text, data_coding=8, source_addr="10690001").status != 0
    finally:
        other.disconnect()
    refused_bind = smpplib.client.Client("127.0.0.1", gw.smpp_port, timeout=10, allow_unknown_opt_params=True)
    refused_bind.connect()
    try:
        with pytest.raises(smpplib.exceptions.PDUError):
            refused_bind.bind_transceiver(system_id="demo", password="wrong-pw")
    finally:
        refused_bind.disconnect()


def test_the_dashboard_is_a_valid_grafana_dashboard() -> None:
    dashboard = load()
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] >= 36  # Grafana 9
    assert dashboard["title"] and dashboard["uid"] and dashboard["id"] is None  # id: Grafana assigns one
    (ds_input,) = [i for i in dashboard["__inputs"] if i["name"] == "DS_PROMETHEUS"]
    assert (ds_input["type"], ds_input["pluginId"]) == ("datasource", "prometheus")

    panels = list(all_panels(dashboard))
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), f"panel ids repeat: {sorted(i for i in ids if ids.count(i) > 1)}"
    cells: dict[tuple[int, int], str] = {}
    for panel in panels:
        name = f"panel {panel['id']} {panel.get('title')!r}"
        pos = panel["gridPos"]
        assert all(isinstance(pos[k], int) for k in ("h", "w", "x", "y")), name
        assert pos["h"] > 0 and pos["w"] > 0 and pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, f"{name}: {pos}"
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{name} overlaps {cells[(x, y)]}"
                cells[(x, y)] = name
        if panel["type"] == "row":
            continue
        assert panel["title"], name
        assert panel["targets"], f"{name} has no query"
        assert panel["datasource"] == DATASOURCE, name
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), name
        for target in panel["targets"]:
            assert target.get("datasource") == DATASOURCE, f"{name} target {target['refId']} has no datasource"
            assert target["expr"].strip(), f"{name} target {target['refId']} is empty"

    variables = dashboard["templating"]["list"]
    names = {variable["name"] for variable in variables}
    assert len(names) == len(variables)
    assert {"account", "carrier"} <= names
    for variable in variables:
        assert variable["datasource"] == DATASOURCE, variable["name"]
    queries = [t["expr"] for p in panels for t in p.get("targets", [])] + [v["query"] for v in variables]
    used = {m.group(1) or m.group(2) for q in queries for m in re.finditer(r"\$\{(\w+)[^}]*\}|\$(\w+)", q)}
    assert used - BUILTIN_VARIABLES <= names, f"undefined variables: {sorted(used - BUILTIN_VARIABLES - names)}"
    assert {"account", "carrier"} <= used, "a variable no query uses"


def find_problems(dashboard: dict[str, Any], families: list[Family]) -> tuple[list[str], set[str]]:
    """Each problem named by its panel and query, and the families the dashboard shows."""
    index = series_index(families)
    found: list[str] = []
    shown: set[str] = set()
    for panel in all_panels(dashboard):
        for target in panel.get("targets", []):
            where = f"panel {panel['id']} {panel['title']!r} query {target['refId']}"
            refs = metric_refs(target["expr"])
            if not refs:
                found.append(f"{where}: reads no metric")
            for ref in refs:
                found += [f"{where}: {p}" for p in problems(ref, index, heatmap=panel["type"] == "heatmap")]
                if ref.name in index:
                    shown.add(index[ref.name][0].name)
    for variable in dashboard["templating"]["list"]:
        for ref in variable_query_refs(variable["query"]):
            found += [f"variable {variable['name']!r}: {p}" for p in problems(ref, index, types=False)]
    return found, shown


@pytest_twisted.ensureDeferred
async def test_every_query_reads_metrics_the_gateway_exports(gateway: RunningGateway) -> None:
    await deferToThread(drive_traffic, gateway)

    def receipts_counted() -> str:
        text = scrape_text(gateway)
        return text if 'smppgw_receipts_total{state="UNDELIV"}' in text else ""

    text = await deferToThread(wait_until, receipts_counted, 10, what="the receipts counted", interval=0.1)
    families = exported_families(text)
    empty = {f.name for f in families if not f.labels} & {
        "smppgw_pdus_received", "smppgw_pdus_sent", "smppgw_submits", "smppgw_receipts",
        "smppgw_carrier_outcomes", "smppgw_carrier_up", "smppgw_bound_sessions", "smppgw_account_balance",
        "smppgw_incidents",
    }  # fmt: skip
    assert not empty, f"the traffic left labelled families without a sample: {sorted(empty)}"

    found, shown = find_problems(load(), families)
    assert found == [], "\n".join(found)
    unshown = {f.name for f in families} - shown
    assert not unshown, f"exported but on no panel of {DASHBOARD.name}: {sorted(unshown)}"


def test_a_wrong_query_is_named_with_its_panel() -> None:
    """The check above can fail: a renamed metric, a label it lacks, a gauge under rate()."""
    families = [
        Family("smppgw_carrier_queue_depth", "gauge", frozenset({"carrier"})),
        Family("smppgw_pdus_sent", "counter", frozenset({"command", "status"})),
    ]
    dashboard = {
        "panels": [
            {"id": 7, "title": "Queues", "type": "timeseries", "targets": [
                {"refId": "A", "expr": "sum by (carrier) (rate(smppgw_carrier_queue_depth[5m]))"},
                {"refId": "B", "expr": 'smppgw_queue_depth{carrier="CMCC"}'},
                {"refId": "C", "expr": 'rate(smppgw_pdus_sent_total{account="demo"}[5m])'},
            ]},
        ],
        "templating": {"list": [{"name": "carrier", "query": "label_values(smppgw_carier_up, carrier)"}]},
    }  # fmt: skip
    found, shown = find_problems(dashboard, families)
    assert found == [
        "panel 7 'Queues' query A: smppgw_carrier_queue_depth is a gauge: rate()/irate()/increase() mean nothing on it",
        "panel 7 'Queues' query B: smppgw_queue_depth is not exported",
        "panel 7 'Queues' query C: smppgw_pdus_sent_total has no label account (it has command, status)",
        "variable 'carrier': smppgw_carier_up is not exported",
    ]
    assert shown == {"smppgw_carrier_queue_depth", "smppgw_pdus_sent"}
