"""The Grafana dashboard's queries run by a real Prometheus that scrapes a running gateway: each one
is valid PromQL, and each one answers with series unless the traffic never made a series it reads
(a throttled answer, a generic_nack) - an empty answer with every series present is a broken query."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from conftest import RunningGateway
from polling import wait_until
from ports import free_port
from promql_names import metric_refs, variable_query_refs
from test_grafana_dashboard import all_panels, drive_traffic, load
from twisted.internet.threads import deferToThread

PROMETHEUS = shutil.which("prometheus")
pytestmark = pytest.mark.skipif(PROMETHEUS is None, reason="prometheus not installed (Debian package prometheus)")

# What Grafana would put for its own variables at a 1 s scrape interval; "All" for the dashboard's.
BUILTINS = {"__rate_interval": "30s", "__range": "5m", "__interval": "5s"}


def substitute(expr: str) -> str:
    return re.sub(r"\$\{(\w+)[^}]*\}|\$(\w+)", lambda m: BUILTINS.get(m.group(1) or m.group(2), ".*"), expr)


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A started Prometheus (its URL) and the file of its scrape targets, read every second."""
    assert PROMETHEUS is not None
    targets = tmp_path / "targets.json"
    targets.write_text("[]", encoding="utf-8")
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: smppgw\n"
        f"    file_sd_configs: [{{files: ['{targets.as_posix()}'], refresh_interval: 1s}}]\n",
        encoding="utf-8",
    )
    url = f"http://127.0.0.1:{free_port()}"
    process = subprocess.Popen(
        [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address={url.removeprefix('http://')}"],
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "prometheus.log").open("wb"),
    )  # fmt: skip
    try:
        wait_until(lambda: ready(url), 30, what="Prometheus ready", interval=0.2)
        yield url, targets
    finally:
        process.terminate()
        process.wait(10)


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/-/ready", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def api(url: str, path: str, **params: str) -> Any:
    """The ``data`` of a Prometheus API answer; a refused query raises with Prometheus's error."""
    try:
        with urllib.request.urlopen(f"{url}/api/v1/{path}?{urllib.parse.urlencode(params)}", timeout=10) as r:
            return json.load(r)["data"]
    except urllib.error.HTTPError as err:
        raise AssertionError(json.loads(err.read()).get("error", err.reason)) from None


def check_queries(url: str) -> list[str]:
    found: list[str] = []
    dashboard = load()
    for panel in all_panels(dashboard):
        for target in panel.get("targets", []):
            where = f"panel {panel['id']} {panel['title']!r} query {target['refId']}"
            try:
                result = api(url, "query", query=substitute(target["expr"]))["result"]
            except AssertionError as err:
                found.append(f"{where}: Prometheus refused it: {err}")
                continue
            if result:
                continue
            selectors = [substitute(ref.selector) for ref in metric_refs(target["expr"])]
            if all(api(url, "series", **{"match[]": s}) for s in selectors):
                found.append(f"{where}: answers nothing although every series it reads exists: {selectors}")
    for variable in dashboard["templating"]["list"]:
        label = variable["query"].rsplit(",", 1)[-1].strip(" )")
        (ref,) = variable_query_refs(variable["query"])
        if not api(url, f"label/{label}/values", **{"match[]": substitute(ref.selector)}):
            found.append(f"variable {variable['name']!r} offers no value")
    return found


@pytest_twisted.ensureDeferred
async def test_prometheus_answers_every_query(gateway: RunningGateway, prometheus: tuple[str, Path]) -> None:
    url, targets = prometheus
    targets.write_text(json.dumps([{"targets": [f"127.0.0.1:{gateway.admin_port}"]}]), encoding="utf-8")
    await deferToThread(drive_traffic, gateway)

    def scraped_enough() -> bool:
        # Receipts counted, and a few scrapes since, so the rates have two samples in their window.
        query = 'count_over_time(smppgw_receipts_total{state="UNDELIV"}[30s]) >= 5'
        return bool(api(url, "query", query=query)["result"])

    await deferToThread(wait_until, scraped_enough, 60, what="Prometheus scraped the receipts", interval=0.5)
    found = await deferToThread(check_queries, url)
    assert found == [], "\n".join(found)
    accounts = await deferToThread(api, url, "label/account/values")
    assert {"demo", "demo2"} <= set(accounts)
