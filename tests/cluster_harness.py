"""Several gateway nodes as separate ``python -m smppgw serve`` processes sharing one PostgreSQL
database: each its own configuration (free SMPP and admin ports, its node id).  Reusable: a test
(or a load balancer in front) reads each node's ports from ``Node``."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conftest import FIXTURES, config_text
from gateway_env import gateway_env
from haproxy_cluster import on_postgres
from ports import free_port

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "demo-admin-token"
# Short cluster timers so a killed node's work moves within seconds.
FAST_CLUSTER = "heartbeat_interval_s = 0.25\nnode_timeout_s = 1.5\n"


@dataclass
class Node:
    name: str
    smpp_port: int
    admin_port: int
    config: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.admin_url + path, data=data, method=method, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def balance(self, account: str = "demo") -> int:
        status, body = self.api("GET", f"/api/accounts/{account}")
        assert status == 200, body
        return int(body["balance"])


@dataclass
class GatewayCluster:
    """``start(n)`` nodes named a, b, c...; ``kill(node)`` is SIGKILL; ``stop()`` ends every node.
    An empty ``url`` runs each node on its own SQLite file instead (a baseline, not a cluster)."""

    tmp: Path
    url: str
    edit: Callable[[str], str] | None = None
    base: Path = FIXTURES / "gateway.toml"  # the configuration every node starts from
    nodes: dict[str, Node] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for folder in ("routes", "content"):
            if not (self.tmp / folder).exists():
                shutil.copytree(FIXTURES / folder, self.tmp / folder)

    def add(self, name: str) -> Node:
        smpp_port, admin_port = free_port(), free_port()
        folder = self.tmp / name
        folder.mkdir(exist_ok=True)

        def edit(text: str) -> str:
            text = text.replace(
                'listen = "tcp:0:interface=127.0.0.1"', f'listen = "tcp:{smpp_port}:interface=127.0.0.1"', 1
            )
            text = text.replace(
                'listen = "tcp:0:interface=127.0.0.1"', f'listen = "tcp:{admin_port}:interface=127.0.0.1"', 1
            )
            # TLS off: its listener on port 0 could take a port picked above for another node.
            text = text.replace('listen = "tcp:0:interface=127.0.0.1"', 'listen = ""', 1)
            if self.edit is not None:
                text = self.edit(text)
            if not self.url:  # one node on its own SQLite file: the baseline of the benchmarks
                return text
            return on_postgres(self.url, name)(text) + FAST_CLUSTER

        config = self.tmp / f"node-{name}.toml"
        config.write_text(config_text(folder / "state" / "smppgw.db", overrides=edit, base=self.base), encoding="utf-8")
        node = Node(name, smpp_port, admin_port, config, folder / "node.log")
        self.nodes[name] = node
        return node

    def launch(self, node: Node) -> None:
        node.proc = subprocess.Popen(
            [sys.executable, "-m", "smppgw", "serve", "--config", str(node.config)],
            stdout=node.log.open("ab"),
            stderr=subprocess.STDOUT,
            cwd=node.config.parent,
            env=gateway_env(),  # this checkout's code (or the installed package)
        )

    def wait_ready(self, node: Node, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if node.proc is not None and node.proc.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", node.admin_port), timeout=0.2).close()
                socket.create_connection(("127.0.0.1", node.smpp_port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"node {node.name} did not start:\n" + node.log.read_text(errors="replace"))

    def start(self, count: int = 3) -> list[Node]:
        names = "abcdefgh"[:count]
        started = [self.add(name) for name in names]
        for node in started:  # all at once: they race to create the schema and the accounts
            self.launch(node)
        for node in started:
            self.wait_ready(node)
        return started

    def restart(self, node: Node) -> None:
        self.launch(node)
        self.wait_ready(node)

    def kill(self, node: Node) -> None:
        if node.proc is not None and node.proc.poll() is None:
            node.proc.send_signal(signal.SIGKILL)
            node.proc.wait(timeout=10)

    def stop(self) -> None:
        for node in self.nodes.values():
            if node.proc is not None and node.proc.poll() is None:
                node.proc.send_signal(signal.SIGTERM)
        for node in self.nodes.values():
            if node.proc is not None:
                try:
                    node.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    node.proc.kill()
                    node.proc.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(f"--- {n.name}\n{n.log.read_text(errors='replace')[-4000:]}" for n in self.nodes.values())
