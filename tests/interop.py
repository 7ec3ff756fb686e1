"""Helpers for interoperability tests with third-party SMPP clients run as subprocesses:
free ports, a DLR/HTTP collector, and a clear skip when a client is not installed."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from ports import free_port

# Kannel (bearerbox + smsbox) bound to the gateway as the demo account, transceiver, with a sendsms user.
KANNEL_CONF = """\
group = core
admin-port = {admin}
admin-password = rig
smsbox-port = {smsbox}
box-allow-ip = 127.0.0.1
dlr-storage = internal
log-file = "{dir}/bearerbox.log"
log-level = 1

group = smsc
smsc = smpp
smsc-id = smppgw
host = 127.0.0.1
port = {smpp}
transceiver-mode = true
smsc-username = demo
smsc-password = demo1234
system-type = ""
source-addr-ton = 0
source-addr-npi = 1
dest-addr-ton = 1
dest-addr-npi = 1
msg-id-type = 0x03
enquire-link-interval = 30
reconnect-delay = 1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {smsbox}
sendsms-port = {sendsms}
global-sender = 10690000
log-file = "{dir}/smsbox.log"
log-level = 1

group = sendsms-user
username = rig
password = rigpass
max-messages = 5
concatenation = true
"""


def need_program(name: str, package: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin")
    if path is None:
        pytest.skip(f"{name} not installed (Debian package {package}; .ci/run installs it)")
    return path


def need_perl_module(module: str, package: str) -> None:
    need_program("perl", "perl")
    if subprocess.run(["perl", f"-M{module}", "-e", "1"], check=False, capture_output=True).returncode != 0:
        pytest.skip(f"perl module {module} not installed (Debian package {package}; .ci/run installs it)")


class HttpCollector:
    """A loopback HTTP server that records the query of every GET it receives (DLR callbacks)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query, keep_blank_values=True).items()}
                with outer._lock:
                    outer.requests.append(query)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"OK")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def snapshot(self) -> list[dict[str, str]]:
        with self._lock:
            return list(self.requests)

    def wait_for(self, predicate: Callable[[list[dict[str, str]]], bool], timeout: float) -> list[dict[str, str]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = self.snapshot()
            if predicate(seen):
                return seen
            time.sleep(0.1)
        return self.snapshot()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def kannel_config(folder: Path, smpp_port: int) -> tuple[Path, dict[str, int]]:
    """KANNEL_CONF on free ports, written to ``folder``; its logs go there too."""
    ports = {"admin": free_port(), "smsbox": free_port(), "sendsms": free_port(), "smpp": smpp_port}
    conf = folder / "kannel.conf"
    conf.write_text(KANNEL_CONF.format(dir=folder, **ports), encoding="utf-8")
    return conf, ports
