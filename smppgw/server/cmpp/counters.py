"""The per-day counters CMPP_QUERY answers, by account, day (YYYYMMDD) and Service_Id (in memory:
they start again at zero when the gateway restarts)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, fields


@dataclass(slots=True)
class DayCounters:
    mt_tlmsg: int = 0  # SUBMITs received
    mt_tlusr: int = 0  # their destinations
    mt_scs: int = 0  # destinations accepted and stored
    mt_fl: int = 0  # destinations refused
    mo_scs: int = 0  # MO messages acknowledged by the SP
    mo_fl: int = 0  # MO DELIVERs refused or unanswered (resent later)


@dataclass(slots=True)
class Counters:
    days: defaultdict[tuple[str, str, str], DayCounters] = field(default_factory=lambda: defaultdict(DayCounters))

    def of(self, account: str, day: str, service_id: str) -> DayCounters:
        return self.days[(account, day, service_id)]

    def total(self, account: str, day: str, service_id: str | None) -> DayCounters:
        """Query_Type 0 (``service_id`` None): every Service_Id; 1: that one only."""
        out = DayCounters()
        for (acct, d, sid), c in self.days.items():
            if acct == account and d == day and (service_id is None or sid == service_id):
                for f in fields(DayCounters):
                    setattr(out, f.name, getattr(out, f.name) + getattr(c, f.name))
        return out
