"""Settings of the test rig that configuration files, scenario files and the admin API share:
protocol faults on an account's binds and the client scorecard's thresholds (pure: stdlib only,
so that the configuration can validate them).

Fault settings (an account's ``faults`` table, a scenario's ``[[fault]]``, the admin API's JSON),
every key optional::

    bind_type = "transmitter"  # only the account's binds of this type ("" or absent: every bind)
    throttled_percent = 10     # share of submits answered ESME_RTHROTTLED (nothing accepted)
    msgqful_percent = 5        # ... ESME_RMSGQFUL
    syserr_percent = 1         # ... ESME_RSYSERR
    generic_nack_burst = 3     # the next 3 requests get generic_nack ESME_RSYSERR
    resp_delay_s = 2.5         # submit_sm_resp of accepted messages held back this long
    drop_resp_percent = 5      # share of accepted messages whose submit_sm_resp is never sent
    unbind_after_s = 30        # the gateway unbinds each bind this long after the faults are set
    half_open_after_s = 5      # ... stops reading and writing on each bind, leaving it open
    split_bytes = 3            # what the gateway sends goes out in TCP segments of 3 octets
    pause_reading_s = 10       # the gateway reads nothing from the binds for 10 s from now
    slow_read_bytes_per_s = 200  # ... and then reads at most 200 octets a second from each

Faults real carriers have (see the README's "Faults real carriers have")::

    stale_binds = true         # a bind that dropped without unbind stays registered: the next bind of
    stale_bind_timeout_s = 60  # its type is answered ESME_RALYBND until the old one times out (60 s)
    congestion_state = true    # responses to submits of SMPP 5.0 binds carry congestion_state (0x0428)
    per_bind_outcomes = true   # carrier outcomes drawn from (seed, bind, PDU count within the bind)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

BIND_TYPES = ("transmitter", "receiver", "transceiver")


class SettingError(ValueError):
    """A bad setting: ``key`` names it ("" for the table as a whole), ``problem`` says what is wrong."""

    def __init__(self, where: str, key: str, problem: str) -> None:
        super().__init__(f"{where}.{key}: {problem}" if key else f"{where}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True, slots=True)
class BindFaults:
    bind_type: str = ""
    throttled_percent: float = 0.0
    msgqful_percent: float = 0.0
    syserr_percent: float = 0.0
    generic_nack_burst: int = 0
    resp_delay_s: float = 0.0
    drop_resp_percent: float = 0.0
    unbind_after_s: float | None = None
    half_open_after_s: float | None = None
    split_bytes: int = 0
    pause_reading_s: float = 0.0
    slow_read_bytes_per_s: float = 0.0
    stale_binds: bool = False
    stale_bind_timeout_s: float = 60.0
    congestion_state: bool = False
    per_bind_outcomes: bool = False


_FLAGS = frozenset({"stale_binds", "congestion_state", "per_bind_outcomes"})
_WHOLE = frozenset({"generic_nack_burst", "split_bytes"})
_PERCENTS = frozenset({"throttled_percent", "msgqful_percent", "syserr_percent", "drop_resp_percent"})


def faults_from_dict(data: Mapping[str, object], where: str) -> BindFaults:
    """Validate fault settings; a SettingError names ``where.key``."""
    known = {f.name for f in fields(BindFaults)}
    values: dict[str, object] = {}
    for key, value in data.items():
        if key not in known:
            raise SettingError(where, key, f"unknown fault (expected one of {', '.join(sorted(known))})")
        if key == "bind_type":
            if value not in ("", *BIND_TYPES):
                raise SettingError(where, key, f"must be one of {', '.join(BIND_TYPES)}")
            values[key] = value
            continue
        if key in _FLAGS:
            if not isinstance(value, bool):
                raise SettingError(where, key, "must be true or false")
            values[key] = value
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise SettingError(where, key, "must be a number >= 0")
        if key in _PERCENTS and value > 100:
            raise SettingError(where, key, "must be at most 100")
        if key in _WHOLE and not isinstance(value, int):
            raise SettingError(where, key, "must be a whole number")
        values[key] = value if key in _WHOLE else float(value)
    faults = BindFaults(**values)  # type: ignore[arg-type]
    if faults.throttled_percent + faults.msgqful_percent + faults.syserr_percent > 100:
        raise SettingError(where, "", "throttled_percent + msgqful_percent + syserr_percent must be at most 100")
    return faults


def faults_to_dict(faults: BindFaults) -> dict[str, Any]:
    """The keys that differ from the defaults, in the form faults_from_dict reads back."""
    default = BindFaults()
    return {key: value for key, value in asdict(faults).items() if value != getattr(default, key)}


@dataclass(frozen=True, slots=True)
class OutbindTarget:
    """Where the gateway outbinds (SMPP 3.4 section 4.1.7) to deliver an account's receipts and MO
    when no receiver of it is bound: the client's listener, and the system_id and password the
    outbind PDU carries (the client's bind_receiver then logs in with the account's own)."""

    host: str
    port: int
    system_id: str = "smppgw"
    password: str = ""
    retry_min_s: float = 1.0  # first wait after the listener refused or dropped the connection
    retry_max_s: float = 60.0  # the wait doubles up to this

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


_OUTBIND_KEYS = ("address", "system_id", "password", "retry_min_s", "retry_max_s")


def outbind_from_dict(data: Mapping[str, object], where: str) -> OutbindTarget:
    """Validate an outbind target ({"address": "host:port", ...}); a SettingError names ``where.key``."""
    for key in data:
        if key not in _OUTBIND_KEYS:
            raise SettingError(where, key, f"unknown key (expected one of {', '.join(_OUTBIND_KEYS)})")
    address = data.get("address")
    if not isinstance(address, str) or ":" not in address:
        raise SettingError(where, "address", "is required: the client's listener as host:port")
    host, _, port_text = address.rpartition(":")
    host = host.strip("[]")
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise SettingError(where, "address", f"{address!r} is not host:port (port 1-65535)")
    texts: dict[str, str] = {}
    for key, limit in (("system_id", 15), ("password", 8)):
        value = data.get(key, "smppgw" if key == "system_id" else "")
        if not isinstance(value, str) or len(value.encode("latin-1", "replace")) > limit:
            raise SettingError(where, key, f"must be a string of at most {limit} characters")
        texts[key] = value
    waits: dict[str, float] = {}
    for key, default in (("retry_min_s", 1.0), ("retry_max_s", 60.0)):
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
            raise SettingError(where, key, "must be a number > 0")
        waits[key] = float(value)
    if waits["retry_max_s"] < waits["retry_min_s"]:
        raise SettingError(where, "retry_max_s", "must not be below retry_min_s")
    return OutbindTarget(host, int(port_text), texts["system_id"], texts["password"], **waits)


def outbind_to_dict(target: OutbindTarget) -> dict[str, Any]:
    """The form outbind_from_dict reads back."""
    return {
        "address": target.address,
        "system_id": target.system_id,
        "password": target.password,
        "retry_min_s": target.retry_min_s,
        "retry_max_s": target.retry_max_s,
    }


@dataclass(frozen=True, slots=True)
class ScorecardRules:
    """The scorecard's thresholds (the ``[scorecard]`` section of the configuration)."""

    window: int = 10  # requests the client may have unanswered (CMPP's window is 16; many carriers say 10)
    backoff_s: float = 1.0  # a quiet time expected after a throttle, and before reconnecting
    late_s: float = 5.0  # a deliver_sm answered later than this is late
    enquire_min_gap_s: float = 1.0  # enquire_links closer together than this are too often
    resubmit_window_s: float = 600.0  # a submit equal to one of an earlier session within this is a resubmit
