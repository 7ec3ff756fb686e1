"""Figures of a bench run: latency percentiles, counts, the JSON report and its text form."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

PERCENTILES: tuple[tuple[str, float], ...] = (("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p99.9", 99.9))


def percentiles_ms(samples: Sequence[float]) -> dict[str, float | None]:
    """p50/p90/p99/p99.9/max of durations in seconds, in milliseconds (nearest rank)."""
    if not samples:
        empty: dict[str, float | None] = {name: None for name, _ in PERCENTILES}
        empty["max"] = None
        return empty
    ordered = sorted(samples)
    n = len(ordered)
    out: dict[str, float | None] = {}
    for name, q in PERCENTILES:
        rank = max(1, math.ceil(q / 100.0 * n))
        out[name] = round(ordered[rank - 1] * 1000.0, 3)
    out["max"] = round(ordered[-1] * 1000.0, 3)
    return out


def _fmt_ms(figures: Mapping[str, float | None]) -> str:
    return "  ".join(f"{k} {'-' if v is None else f'{v:.2f}'}" for k, v in figures.items())


def format_text(report: Mapping[str, Any]) -> str:
    """The human-readable summary printed at the end of a run."""
    lines = [
        f"target        {report['target']}  ({report['connections']} connections, window {report['window']}, "
        f"accounts {', '.join(report['accounts'])})",
        f"submitted     {report['submitted']} submit_sm in {report['elapsed_s']:.2f} s: "
        f"{report['answered']} answered, {report['submit_rate']:.0f}/s",
        "status        " + (", ".join(f"{k} {v}" for k, v in sorted(report["status"].items())) or "-"),
        "submit_sm_resp latency ms  " + _fmt_ms(report["submit_latency_ms"]),
    ]
    if report["registered_delivery"]:
        lines += [
            f"receipts      {report['receipts']} for {report['receipts_expected']} accepted "
            f"({report['receipts_matched']} matched to a submit, {report['receipts_unmatched']} unmatched, "
            f"{report['receipts_missing']} missing); end to end {report['end_to_end_rate']:.0f}/s",
            "receipt state " + (", ".join(f"{k} {v}" for k, v in sorted(report["receipt_states"].items())) or "-"),
            "receipt round trip ms      " + _fmt_ms(report["receipt_latency_ms"]),
        ]
    if report["errors"]:
        lines += [f"error         {e}" for e in report["errors"]]
    lines.append(f"verdict       {'OK' if report['ok'] else 'FAILED'}")
    return "\n".join(lines)
