"""Several gateway nodes behind a real HAProxy on one machine, for tests and demos.

Each node is its own ``python -m smppgw serve`` process with the demo configuration on free
loopback ports, the PROXY protocol on (``listen = "haproxy:tcp:..."``), TLS off and its own store; HAProxy runs in the
foreground with fixtures/haproxy.cfg, its frontend, server lines and stats moved to free ports.

    python tests/haproxy_cluster.py --nodes 2            # prints the addresses; Ctrl-C stops all
    python tests/haproxy_cluster.py --nodes 3 --port 2775

From a test: ``with HAProxyCluster(tmp_path, nodes=2) as cluster: ...`` (see tests/system/test_haproxy.py).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway_env import gateway_env
from ports import free_port

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
TOKEN = "demo-admin-token"  # the demo configuration's
HOST = "127.0.0.1"


def haproxy_binary() -> str | None:
    return shutil.which("haproxy") or next((p for p in ("/usr/sbin/haproxy",) if os.access(p, os.X_OK)), None)


def node_config(
    smpp_port: int,
    admin_port: int,
    store: Path,
    edit: Callable[[str], str] | None = None,
    base: Path = FIXTURES / "gateway.toml",
    proxy: bool = True,
) -> str:
    """The configuration ``base`` for one node behind HAProxy (files named absolutely: it is written
    elsewhere); Twisted's ``haproxy:`` prefix on the listener turns the PROXY protocol on."""
    text = base.read_text(encoding="utf-8")
    prefix = "haproxy:" if proxy else ""
    text = re.sub(r'(?m)^listen = "tcp:2775[^"]*"', f'listen = "{prefix}tcp:{smpp_port}:interface={HOST}"', text)
    text = re.sub(r'(?m)^listen = "tcp:8775[^"]*"', f'listen = "tcp:{admin_port}:interface={HOST}"', text)
    text = re.sub(r'(?m)^listen = "tcp:3550[^"]*"', 'listen = ""', text)
    text = re.sub(r'(?m)^listen = "tcp:7890[^"]*"', 'listen = ""', text)  # CMPP off
    text = re.sub(r'(?m)^listen = "tcp:8776[^"]*"', 'listen = ""', text)  # the customer HTTP interface off
    text = re.sub(r'(?m)^path = "state/[a-z]+\.db"', f"path = {json.dumps(str(store))}", text)
    for key in ("number_plan", "international", "ported", "keywords"):
        text = re.sub(
            rf'(?m)^{key} = "([^"]+)"', lambda m, k=key: f"{k} = {json.dumps(str(FIXTURES / m.group(1)))}", text
        )
    return edit(text) if edit is not None else text


def on_postgres(url: str, node_id: str = "a") -> Callable[[str], str]:
    """An edit of a node's configuration: the store in the PostgreSQL database ``url``, as cluster node ``node_id``."""

    def edit(text: str) -> str:
        text = re.sub(r"(?m)^\[store\]$", f"[store]\nurl = {json.dumps(url)}", text, count=1)
        return text + f'\n[cluster]\nnode_id = "{node_id}"\n'

    return edit


def haproxy_config(port: int, stats_port: int, socket_path: Path, nodes: list[Node], check_ms: int | None) -> str:
    """fixtures/haproxy.cfg with these ports and nodes (and quicker checks when ``check_ms`` is given)."""
    text = (FIXTURES / "haproxy.cfg").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^    bind 127\.0\.0\.1:2775$", f"    bind {HOST}:{port}", text)
    text = re.sub(r"(?m)^    bind 127\.0\.0\.1:8404$", f"    bind {HOST}:{stats_port}", text)
    text = re.sub(r"(?m)^global\n", f"global\n    stats socket {socket_path} level admin\n", text)
    text = re.sub(r"(?m)^    maxconn \d+", "    maxconn 1000", text)  # within any ulimit -n of a test machine
    text = re.sub(r"(?m)^    server .*\n", "", text)
    servers = "".join(f"    server {n.name} {HOST}:{n.smpp_port} check port {n.admin_port}\n" for n in nodes)
    text = re.sub(r"(?m)^(    default-server .*\n)", lambda m: m.group(1) + servers, text)
    if check_ms is not None:
        text = text.replace("inter 2s fall 2 rise 2", f"inter {check_ms}ms fall 1 rise 1")
    return text


@dataclass
class Node:
    name: str
    smpp_port: int
    admin_port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def admin_url(self) -> str:
        return f"http://{HOST}:{self.admin_port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "node.log"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """An admin API call (``/health`` needs no token; it is sent anyway)."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.admin_url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {TOKEN}")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def peers(self) -> list[str]:
        """The client addresses of the node's bound sessions (host:port), as its admin API lists them."""
        status, body = self.api("GET", "/api/sessions")
        assert status == 200, body
        return [s["peer"] for s in body["sessions"]]


@dataclass
class HAProxyCluster:
    workdir: Path
    nodes_wanted: int = 2
    edit: Callable[[str], str] | None = None  # changes every node's configuration text
    node_edit: Callable[[str, str], str] | None = None  # (node name, text) -> text: one node's own changes
    port: int = 0  # HAProxy's SMPP frontend; 0: a free one
    check_ms: int | None = 200  # health check interval; None: the fixture's
    base: Path = FIXTURES / "gateway.toml"  # the nodes' configuration, before ports and edit
    nodes: list[Node] = field(default_factory=list)
    haproxy: subprocess.Popen[bytes] | None = None
    stats_port: int = 0

    @property
    def socket_path(self) -> Path:
        return self.workdir / "haproxy.sock"

    @property
    def haproxy_log(self) -> Path:
        return self.workdir / "haproxy.log"

    def __enter__(self) -> HAProxyCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 60.0) -> HAProxyCluster:
        binary = haproxy_binary()
        if binary is None:
            raise RuntimeError("haproxy is not installed (Debian package haproxy)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        self.stats_port = free_port()
        for index in range(1, self.nodes_wanted + 1):
            node = Node(f"node{index}", free_port(), free_port(), self.workdir / f"node{index}")
            node.workdir.mkdir(parents=True, exist_ok=True)
            self.start_node(node)
            self.nodes.append(node)
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            self._wait_healthy(node, deadline)
        config = self.workdir / "haproxy.cfg"
        config.write_text(
            haproxy_config(self.port, self.stats_port, self.socket_path, self.nodes, self.check_ms), encoding="utf-8"
        )
        log = self.haproxy_log.open("wb")
        self.haproxy = subprocess.Popen([binary, "-db", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.wait_states({n.name: "UP" for n in self.nodes}, deadline - time.monotonic())
        return self

    def start_node(self, node: Node) -> None:
        """Start (or restart) a node's process on its ports and store."""
        config = node.workdir / "gateway.toml"
        text = node_config(node.smpp_port, node.admin_port, node.workdir / "smppgw.db", self.edit, self.base)
        if self.node_edit is not None:
            text = self.node_edit(node.name, text)
        config.write_text(text, encoding="utf-8")
        env = gateway_env()
        log = node.log_path.open("ab")
        node.process = subprocess.Popen(
            [sys.executable, "-m", "smppgw", "serve", "--config", str(config)],
            cwd=node.workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def _wait_healthy(self, node: Node, deadline: float) -> None:
        assert node.process is not None
        while True:
            if node.process.poll() is not None:
                raise RuntimeError(f"{node.name} exited ({node.process.returncode}):\n{node.log()[-3000:]}")
            try:
                if node.api("GET", "/health")[0] == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{node.name} did not answer /health in time:\n{node.log()[-3000:]}")
            time.sleep(0.05)

    def states(self) -> dict[str, str]:
        """HAProxy's view of each node: UP, NOLB (drained), DOWN, ... with its current connections."""
        return {name: state for name, (state, _) in self.stats().items()}

    def stats(self) -> dict[str, tuple[str, int]]:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(str(self.socket_path))
            s.sendall(b"show stat\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        rows = csv.DictReader(io.StringIO(data.decode("utf-8").lstrip("# ")))
        return {
            row["svname"]: (row["status"].split(" ")[0], int(row["scur"] or 0))
            for row in rows
            if row["pxname"] == "smppgw_nodes" and row["svname"] not in ("FRONTEND", "BACKEND")
        }

    def wait_states(self, wanted: dict[str, str], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        seen: dict[str, str] = {}
        while time.monotonic() < deadline:
            if self.haproxy is not None and self.haproxy.poll() is not None:
                log = self.haproxy_log.read_text(errors="replace")
                raise RuntimeError(f"haproxy exited ({self.haproxy.returncode}):\n{log[-3000:]}")
            try:
                seen = self.states()
            except OSError:
                seen = {}
            if all(seen.get(name) == state for name, state in wanted.items()):
                return
            time.sleep(0.05)
        raise RuntimeError(f"HAProxy states {seen}, wanted {wanted}")

    def stop(self) -> None:
        processes = [p for p in [self.haproxy, *(n.process for n in self.nodes)] if p is not None]
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description="N smppgw nodes behind HAProxy on this machine")
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--port", type=int, default=2775, help="HAProxy's SMPP port (default 2775)")
    parser.add_argument("--dir", default="state/cluster", help="work folder: configurations, stores, logs")
    parser.add_argument(
        "--store", default="", help="postgresql://... shared by the nodes (default: each node its own SQLite file)"
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the nodes and HAProxy too, as Ctrl-C does
    shared = (lambda name, text: on_postgres(args.store, name)(text)) if args.store else None
    cluster = HAProxyCluster(Path(args.dir).resolve(), args.nodes, port=args.port, check_ms=None, node_edit=shared)
    with cluster:
        print(f"SMPP through HAProxy: {HOST}:{cluster.port}   HAProxy stats: http://{HOST}:{cluster.stats_port}/")
        for node in cluster.nodes:
            print(f"  {node.name}: SMPP {node.smpp_port} (PROXY protocol), admin {node.admin_url}, log {node.log_path}")
        print("Ctrl-C (or kill) stops HAProxy and the nodes.", flush=True)
        try:
            while all(p.poll() is None for p in [cluster.haproxy, *(n.process for n in cluster.nodes)] if p):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
