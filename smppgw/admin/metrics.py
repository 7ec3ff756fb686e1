"""Prometheus metrics at GET /metrics on the admin port.

A collector reads the gateway's live state at scrape time (sessions, carriers, wallets, the shared
PDU counters), so nothing is added to the submit path beyond the plain counters in
``protocol.traffic``.  No token is needed: scrapers rarely carry one, and the admin port listens on
loopback unless configured otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from twisted.web.resource import Resource
from twisted.web.server import Request

from ..pipeline.accounts import BIND_TYPE_OF
from ..protocol.constants import CommandId, status_name
from ..protocol.traffic import LATENCY_BUCKETS
from .node import Node
from .shapes import bind_type


def command_name(command_id: int) -> str:
    try:
        return CommandId(command_id).name.lower()
    except ValueError:
        return f"0x{command_id:08x}"


class GatewayCollector:
    """Reads the node's live state at scrape time, one family (or a few related ones) per method."""

    def __init__(self, node: Node) -> None:
        self.node = node

    def collect(self) -> Iterator[Metric]:
        yield from self._pdus()
        yield self._latency()
        yield from self._pipeline()
        yield from self._carriers()
        yield from self._sessions()
        yield self._balances()
        yield from self._compliance()

    def _pdus(self) -> Iterator[Metric]:
        received = CounterMetricFamily("smppgw_pdus_received", "SMPP PDUs received", labels=["command", "status"])
        sent = CounterMetricFamily("smppgw_pdus_sent", "SMPP PDUs sent", labels=["command", "status"])
        for (direction, command_id, status), count in sorted(self.node.factory.traffic.pdus.items()):
            family = received if direction == "in" else sent
            family.add_metric([command_name(command_id), status_name(status)], count)
        yield received
        yield sent

    def _latency(self) -> Metric:
        traffic = self.node.factory.traffic
        buckets: list[tuple[str, float]] = []
        total = 0
        for bound, count in zip((*map(str, LATENCY_BUCKETS), "+Inf"), traffic.latency_counts, strict=True):
            total += count
            buckets.append((bound, total))
        return HistogramMetricFamily(
            "smppgw_submit_response_seconds",
            "Time from a submit_sm or data_sm to its answer (an OK answer waits for the commit)",
            buckets=buckets,
            sum_value=traffic.latency_sum,
        )

    def _pipeline(self) -> Iterator[Metric]:
        gateway = self.node.gateway
        submits = CounterMetricFamily("smppgw_submits", "Submits by outcome", labels=["result"])
        submits.add_metric(["accepted"], gateway.submitted)
        submits.add_metric(["rejected"], gateway.rejected)
        yield submits
        yield GaugeMetricFamily(
            "smppgw_active_messages", "Accepted messages without a final state", value=len(gateway.active)
        )
        yield GaugeMetricFamily(
            "smppgw_pending_deliveries",
            "Receipts and MO messages stored and not yet acknowledged by a client",
            value=self.node.deliveries.backlog(),
        )

    def _carriers(self) -> Iterator[Metric]:
        receipts = CounterMetricFamily("smppgw_receipts", "Final states reported by the carriers", labels=["state"])
        outcomes = CounterMetricFamily(
            "smppgw_carrier_outcomes", "Final states reported per carrier", labels=["carrier", "state"]
        )
        queue = GaugeMetricFamily(
            "smppgw_carrier_queue_depth", "Messages waiting at a carrier link", labels=["carrier"]
        )
        flight = GaugeMetricFamily(
            "smppgw_carrier_in_flight", "Messages at a carrier awaiting a report", labels=["carrier"]
        )
        up = GaugeMetricFamily("smppgw_carrier_up", "1 when the carrier link is up", labels=["carrier"])
        dispatched = CounterMetricFamily(
            "smppgw_carrier_dispatched", "Messages handed to a carrier", labels=["carrier"]
        )
        by_state: dict[str, int] = {}
        carriers = self.node.carriers
        for code in sorted(carriers):
            stats = carriers[code].stats()
            for state, count in sorted(stats.reported.items()):
                outcomes.add_metric([code, state], count)
                by_state[state] = by_state.get(state, 0) + count
            queue.add_metric([code], stats.queued)
            flight.add_metric([code], stats.in_flight)
            up.add_metric([code], 0 if stats.down else 1)
            dispatched.add_metric([code], stats.dispatched)
        for state, count in sorted(by_state.items()):
            receipts.add_metric([state], count)
        yield from (receipts, outcomes, queue, flight, up, dispatched)

    def _sessions(self) -> Iterator[Metric]:
        factory = self.node.factory
        sessions = GaugeMetricFamily("smppgw_bound_sessions", "Bound SMPP sessions", labels=["account", "bind_type"])
        counts: dict[tuple[str, str], int] = {}
        for account, protos in factory.bound.items():
            for proto in protos:
                key = (account, bind_type(proto.session.state.value))
                counts[key] = counts.get(key, 0) + 1
        for account_state in self.node.accounts:  # every account, so a dashboard shows a zero, not a gap
            for kind in sorted(set(BIND_TYPE_OF.values())):
                counts.setdefault((account_state.config.system_id, kind), 0)
        for (account, kind), count in sorted(counts.items()):
            sessions.add_metric([account, kind], count)
        yield sessions
        yield GaugeMetricFamily(
            "smppgw_connections", "Open SMPP connections (bound or not)", value=len(factory.connections)
        )
        cmpp = self.node.cmpp_factory
        cmpp_sessions = GaugeMetricFamily("smppgw_cmpp_sessions", "Logged-in CMPP sessions", labels=["account"])
        for account_state in self.node.accounts:
            if account_state.config.cmpp is not None:
                cmpp_sessions.add_metric(
                    [account_state.config.system_id], len(cmpp.sessions_of(account_state.config.system_id))
                )
        yield cmpp_sessions
        yield GaugeMetricFamily(
            "smppgw_cmpp_connections", "Open CMPP connections (logged in or not)", value=len(cmpp.connections)
        )

    def _balances(self) -> Metric:
        balance = GaugeMetricFamily(
            "smppgw_account_balance", "Prepaid balance (unit li = 0.001 CNY, or msg)", labels=["account", "unit"]
        )
        for wallet in sorted(self.node.wallets, key=lambda w: w.account):
            balance.add_metric([wallet.account, wallet.unit], wallet.balance)
        return balance

    def _compliance(self) -> Iterator[Metric]:
        compliance = self.node.compliance
        yield GaugeMetricFamily(
            "smppgw_review_queue_length",
            "Messages held for manual review (a long message counts once)",
            value=compliance.review_length(),
        )
        incidents = CounterMetricFamily(
            "smppgw_incidents",
            "Prohibited-content incidents recorded since start, by action (rejected, suspended) and category",
            labels=["action", "category"],
        )
        for (action, category), count in sorted(compliance.incident_counts.items()):
            incidents.add_metric([action, category], count)
        yield incidents
        yield GaugeMetricFamily(
            "smppgw_accounts_suspended",
            "Accounts whose sending is suspended",
            value=sum(1 for a in self.node.accounts if a.status == "suspended"),
        )


def build_registry(node: Node) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(GatewayCollector(node))
    return registry


class MetricsResource(Resource):
    isLeaf = True  # noqa: N815 (Twisted's name)

    def __init__(self, registry: CollectorRegistry) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.registry = registry

    def render_GET(self, request: Request) -> bytes:  # noqa: N802 (Twisted's name)
        request.setHeader(b"content-type", CONTENT_TYPE_LATEST.encode("ascii"))
        request.setHeader(b"cache-control", b"no-store")
        return generate_latest(self.registry)
