"""What a simulated carrier does with one message: when it accepts it, and what it reports and when.

Pure: time (`now`) and randomness (`random.Random`) are arguments, so the same seed replays the same
traffic.  Figures and the failure-code vocabulary follow the carrier-behaviour reference; the 3-digit
receipt `err` values are the smppgw convention:

    000 delivered (or no code)      005 blacklisted recipient   008 phone off until validity end
    001 signature                   006 empty number            009 downstream flow control
    002 blocked keyword (MK:0014)   007 suspended number        010 other carrier/network failure
    003 spam / review (MK:0115)

010 is not in the published convention table; it covers the reference's "other" bucket
(MK:0002 internal gateway problem, IB:0070 network disconnected).
"""

from __future__ import annotations

import bisect
import fnmatch
import itertools
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from smppgw.model import STAT_WORDS, MessageState

__all__ = [
    "LOST_OUTCOME",
    "RULE_STATES",
    "CarrierPlan",
    "CarrierProfile",
    "Outcome",
    "ScenarioRule",
    "Script",
    "bind_rng",
    "plan",
    "profile_from_dict",
    "scenario_rules_from_list",
    "validity_end",
]

# The one-sided z-score of the 99th percentile: sigma = (ln p99 - ln median) / Z99.
_Z99 = 2.326
_PATTERN_CHARS = frozenset("0123456789*?[]!-")
_CHINA_CC = "86"


@dataclass(frozen=True, slots=True)
class Script:
    """What a message scripted for itself (its ``#smppgw:`` directive): fields left None are drawn
    as usual.  ``state`` is a final state a scenario rule may give (DELIVRD, UNDELIV, REJECTD,
    EXPIRED, UNKNOWN); ``delay`` counts from the carrier's acceptance, as a rule's ``delay_s``."""

    state: MessageState | None = None
    err: int | None = None
    code: str | None = None
    delay: float | None = None
    drop: bool = False  # the carrier never reports: EXPIRED at the validity end, as a lost message


@dataclass(slots=True, init=False)
class CarrierJob:
    """One message handed to a carrier."""

    message_id: str
    msisdn: str  # E.164 digits
    submitted_at: float
    validity_until: float | None
    script: Script | None = None  # the message's own scripted outcome, over whatever is drawn

    # Written out, not generated: compiled, it costs a tenth of the generated one (smppgw/compiled.py).
    def __init__(
        self,
        message_id: str,
        msisdn: str,
        submitted_at: float,
        validity_until: float | None,
        script: Script | None = None,
    ) -> None:
        self.message_id = message_id
        self.msisdn = msisdn
        self.submitted_at = submitted_at
        self.validity_until = validity_until
        self.script = script


@dataclass(slots=True)
class Outcome:
    state: MessageState
    err: int  # 3-digit receipt err, 0 on success
    code: str  # carrier-native code for the receipt text, "" for DELIVRD

    @property
    def stat(self) -> str:
        """The 7-letter receipt `stat:` word."""
        return STAT_WORDS[self.state]


# A carrier's final report: message id, outcome, when the carrier reported.
CarrierReport = tuple[str, Outcome, float]

# Handset never came back, or the carrier never answered: reported when validity runs out.
LOST_OUTCOME = Outcome(MessageState.EXPIRED, 8, "MK:0010")
_EXPIRED = LOST_OUTCOME


@dataclass(frozen=True, slots=True)
class ScenarioRule:
    pattern: str  # suffix ("0000") or glob ("138*0000") on the national or E.164 number
    state: MessageState
    err: int
    code: str
    delay: float | None  # seconds after acceptance; None = the profile's distribution
    lost: bool  # no carrier receipt: EXPIRED at validity end

    def matches(self, e164: str, national: str | None) -> bool:
        pattern = self.pattern
        # Three substring tests, not a set method: compiled, each is a native call (4 rules a message).
        if "*" not in pattern and "?" not in pattern and "[" not in pattern:
            # The national number is a suffix of the E.164 one, so one test covers both forms.
            return e164.endswith(pattern)
        if fnmatch.fnmatchcase(e164, pattern):
            return True
        return national is not None and fnmatch.fnmatchcase(national, pattern)


@dataclass(frozen=True, slots=True)
class CarrierProfile:
    code: str
    name: str
    submit_latency: float  # s from hand-over to the carrier's acceptance
    receipt_median: float  # s from acceptance to the receipt, log-normal
    receipt_p99: float
    outcomes: tuple[tuple[Outcome, float], ...]  # (outcome, weight); weights sum > 0
    loss_rate: float  # 0..1, messages that never get a carrier receipt
    throughput: float  # msg/s, 0 = unlimited
    queue_limit: int  # jobs waiting for throughput or for the link to come back
    default_validity: float  # s, when the client gave none
    max_validity: float  # s, cap on any validity
    rules: tuple[ScenarioRule, ...] = ()

    @property
    def receipt_mu(self) -> float:
        return math.log(self.receipt_median)

    @property
    def receipt_sigma(self) -> float:
        return (math.log(self.receipt_p99) - math.log(self.receipt_median)) / _Z99


@dataclass(slots=True, init=False)
class CarrierPlan:
    accept_at: float
    report_at: float
    outcome: Outcome
    lost: bool

    # Written out, not generated, and not frozen: one per message (smppgw/compiled.py).
    def __init__(self, accept_at: float, report_at: float, outcome: Outcome, lost: bool) -> None:
        self.accept_at = accept_at
        self.report_at = report_at
        self.outcome = outcome
        self.lost = lost


def validity_end(profile: CarrierProfile, submitted_at: float, validity_until: float | None) -> float:
    """Absolute time the message expires: the client's validity or the carrier default, capped."""
    cap = submitted_at + profile.max_validity
    if validity_until is None:
        return min(submitted_at + profile.default_validity, cap)
    return min(validity_until, cap)


def _national(msisdn: str) -> str | None:
    if msisdn.startswith(_CHINA_CC) and len(msisdn) == 13:
        return msisdn[2:]
    return None


def _match_rule(rules: Sequence[ScenarioRule], msisdn: str) -> ScenarioRule | None:
    national = _national(msisdn)
    for rule in rules:
        if rule.matches(msisdn, national):
            return rule
    return None


def plan(
    profile: CarrierProfile,
    *,
    msisdn: str,
    now: float,
    validity_until: float | None,
    rng: random.Random,
    script: Script | None = None,
) -> CarrierPlan:
    """Decide acceptance time, final outcome and report time for one message part.

    Scenario rules come first (first match wins); otherwise `loss_rate` decides whether the carrier
    stays silent, then the weighted outcome mix and the log-normal receipt delay.  Anything that would
    be reported after the validity end, and every EXPIRED outcome, is reported as EXPIRED at that end.

    A `script` overrides what was drawn, after the drawing: a scripted message takes exactly the
    random draws it would have taken without its script, so every other message of a seeded run
    gets the same outcome either way.  A scripted EXPIRED with a delay is reported at that delay.
    """
    accept_at = now + profile.submit_latency
    end = max(validity_end(profile, now, validity_until), accept_at)
    outcome, delay = _draw(profile, msisdn, rng)
    fixed_time = False
    if script is not None:
        outcome, delay = _apply_script(profile, script, outcome, delay)
        fixed_time = script.delay is not None
    if delay is None:
        return CarrierPlan(accept_at, end, LOST_OUTCOME, lost=True)
    if outcome.state is MessageState.EXPIRED and not fixed_time:
        # A carrier only knows a handset never came back once the validity has run out.
        return CarrierPlan(accept_at, end, outcome, lost=False)
    report_at = accept_at + delay
    if report_at > end:
        return CarrierPlan(accept_at, end, _EXPIRED, lost=False)
    return CarrierPlan(accept_at, report_at, outcome, lost=False)


def bind_rng(seed: int, bind: str, count: int) -> random.Random:
    """The generator one message's plan draws from when outcomes are drawn per bind: a function of
    the gateway's seed, the bind's name and the PDU's count within that bind only, so what one bind
    gets does not depend on what other binds send, nor in which order."""
    return random.Random(f"{seed}:bind:{bind}:{count}")


def _draw(profile: CarrierProfile, msisdn: str, rng: random.Random) -> tuple[Outcome, float | None]:
    """The outcome and its delay after acceptance; delay None: lost (the carrier never reports)."""
    rule = _match_rule(profile.rules, msisdn)
    if rule is not None:
        if rule.lost:
            return LOST_OUTCOME, None
        delay = rule.delay if rule.delay is not None else _draw_delay(profile, rng)
        return Outcome(rule.state, rule.err, rule.code), delay
    if rng.random() < profile.loss_rate:
        return LOST_OUTCOME, None
    outcome = _draw_outcome(profile, rng)
    return outcome, _draw_delay(profile, rng)


def _apply_script(
    profile: CarrierProfile, script: Script, drawn: Outcome, delay: float | None
) -> tuple[Outcome, float | None]:
    if script.drop:
        return LOST_OUTCOME, None
    if script.state is None:
        if delay is None:
            return drawn, None  # drawn lost, and the script names no state to report instead
        base_err, base_code = drawn.err, drawn.code
        state = drawn.state
    else:
        state = script.state
        base_err, base_code, _ = _CODE_MIX[state][0]
    code = base_code if script.code is None else script.code
    if script.err is not None:
        err = script.err
    elif script.code is not None:
        err = _ERR_BY_CODE.get(script.code, base_err)
    else:
        err = base_err
    if script.delay is not None:
        delay = script.delay
    elif delay is None:
        delay = profile.receipt_median  # drawn lost: no random draw was taken for a delay
    return Outcome(state, err, code), delay


# A profile's outcome mix as random.choices prepares it on every call (population, cumulative
# weights, total), prepared once per mix: keyed by the mix's id, checked by identity.
_MIXES: dict[int, tuple[tuple[tuple[Outcome, float], ...], list[Outcome], list[float], float]] = {}


def _draw_outcome(profile: CarrierProfile, rng: random.Random) -> Outcome:
    mix = profile.outcomes
    prepared = _MIXES.get(id(mix))
    if prepared is None or prepared[0] is not mix:
        cum = list(itertools.accumulate(weight for _, weight in mix))
        prepared = (mix, [outcome for outcome, _ in mix], cum, cum[-1] + 0.0)
        if len(_MIXES) > 64:  # reloads make new mixes; the old ones need not stay
            _MIXES.clear()
        _MIXES[id(mix)] = prepared
    _, population, cum, total = prepared
    # Exactly what rng.choices(population, weights)[0] draws (one random(), bisected), without
    # rebuilding the lists: a seeded run gives the same outcomes as before.
    return population[bisect.bisect(cum, rng.random() * total, 0, len(cum) - 1)]


# random.Random.normalvariate's constant (Kinderman and Monahan's ratio of uniforms).
_NV_MAGICCONST = 4 * math.exp(-0.5) / math.sqrt(2.0)


def _draw_delay(profile: CarrierProfile, rng: random.Random) -> float:
    """``rng.lognormvariate(mu, sigma)`` step for step (the same random() calls and arithmetic, so
    a seeded run draws the same delays): the library's is interpreted Python, this is compiled."""
    while True:
        u1 = rng.random()
        u2 = 1.0 - rng.random()
        z = _NV_MAGICCONST * (u1 - 0.5) / u2
        if z * z / 4.0 <= -math.log(u2):
            break
    return math.exp(profile.receipt_mu + z * profile.receipt_sigma)


# ---- building profiles from configuration ---------------------------------------------------

RULE_STATES: dict[str, MessageState] = {
    "DELIVRD": MessageState.DELIVERED,
    "UNDELIV": MessageState.UNDELIVERABLE,
    "REJECTD": MessageState.REJECTED,
    "EXPIRED": MessageState.EXPIRED,
    "UNKNOWN": MessageState.UNKNOWN,
}

# How each final state splits into (err, carrier code, share %): the reference's failure-code mix,
# with each failure put under the receipt state the smppgw convention gives it.
_CODE_MIX: dict[MessageState, tuple[tuple[int, str, float], ...]] = {
    MessageState.DELIVERED: ((0, "", 1.0),),
    MessageState.UNDELIVERABLE: (
        (6, "MK:0001", 15.0),  # empty number 35 %
        (6, "MI:0073", 10.0),
        (6, "DB:0101", 10.0),
        (7, "MK:0005", 15.0),  # suspended 25 %
        (7, "DB:0102", 10.0),
        (5, "DB:0141", 6.0),  # blacklist 15 %
        (5, "DB:0144", 6.0),
        (5, "MBBLACK", 3.0),
        (9, "IB:0008", 3.0),  # flow control 5 %
        (9, "MI:0061", 2.0),
        (10, "MK:0002", 3.0),  # other 5 %
        (10, "IB:0070", 2.0),
    ),
    MessageState.REJECTED: (
        (2, "MK:0014", 3.0),  # content check
        (3, "MK:0115", 2.0),  # intercepted as spam
    ),
    MessageState.EXPIRED: ((8, "MK:0010", 1.0),),
    MessageState.UNKNOWN: ((0, "", 1.0),),
}

# err implied by a known carrier code, so a scenario rule may give just the code.
_ERR_BY_CODE: dict[str, int] = {code: err for mix in _CODE_MIX.values() for err, code, _ in mix if code} | {
    "XA:0003": 1,
    "DB:0139": 4,
}

# Notification traffic from the reference's outcome table (no-report share is loss_percent).
_DEFAULT_OUTCOMES: dict[str, float] = {"DELIVRD": 96.5, "UNDELIV": 2.0, "REJECTD": 0.7, "EXPIRED": 0.8}

_PROFILE_KEYS = frozenset(
    {
        "name",
        "submit_latency_ms",
        "receipt_median_ms",
        "receipt_p99_ms",
        "outcomes",
        "loss_percent",
        "throughput",
        "queue_limit",
        "default_validity_s",
        "max_validity_s",
        "rules",
    }
)
_RULE_KEYS = frozenset({"pattern", "state", "err", "code", "delay_s", "lost"})


def _number(data: Mapping[str, object], key: str, default: float, path: str, *, minimum: float = 0.0) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{path}.{key} must be a number")
    if value < minimum:
        raise ValueError(f"{path}.{key} must be at least {minimum:g}")
    return float(value)


def _integer(data: Mapping[str, object], key: str, default: int, path: str) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{path}.{key} must be a whole number")
    if value < 0:
        raise ValueError(f"{path}.{key} must not be negative")
    return value


def _reject_unknown(data: Mapping[str, object], known: frozenset[str], path: str) -> None:
    unknown = sorted(str(key) for key in data if key not in known)
    if unknown:
        raise ValueError(f"{path}.{unknown[0]} is not a known key (expected one of {', '.join(sorted(known))})")


def _outcomes(value: object, path: str) -> tuple[tuple[Outcome, float], ...]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{path} must be a table of STAT word = weight percent")
    mix: list[tuple[Outcome, float]] = []
    total = 0.0
    for word, weight in value.items():
        state = RULE_STATES.get(str(word))
        if state is None:
            raise ValueError(f"{path}.{word} is not a final state (expected one of {', '.join(RULE_STATES)})")
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight):
            raise ValueError(f"{path}.{word} must be a number")
        if weight < 0:
            raise ValueError(f"{path}.{word} must not be negative")
        total += weight
        shares = _CODE_MIX[state]
        share_total = sum(share for _, _, share in shares)
        mix.extend((Outcome(state, err, code), weight * share / share_total) for err, code, share in shares if weight)
    if total <= 0:
        raise ValueError(f"{path} weights must add up to more than 0")
    return tuple(mix)


def profile_from_dict(code: str, data: Mapping[str, object], where: str) -> CarrierProfile:
    """Build the profile of carrier `code` from its TOML table; `where` names the file in errors.

    Every key is optional (defaults are the reference's estimates); unknown keys are errors::

        [carriers.CMCC]
        name = "China Mobile"
        submit_latency_ms = 20          # carrier's acceptance after hand-over
        receipt_median_ms = 4000        # log-normal receipt delay after acceptance
        receipt_p99_ms = 33000
        outcomes = { DELIVRD = 96, UNDELIV = 2.5, REJECTD = 1, EXPIRED = 0.5 }   # percent weights
        loss_percent = 0.2              # never a receipt: EXPIRED at validity end
        throughput = 100                # msg/s, 0 = unlimited (token bucket, 1 s burst)
        queue_limit = 10000             # waiting jobs before dispatch refuses
        default_validity_s = 172800     # 48 h when the client gives none
        max_validity_s = 259200         # 72 h cap

        [[carriers.CMCC.rules]]         # first match wins, before the random mix
        pattern = "138*0000"            # suffix like "0000", or a glob on 13800000000 / 8613800000000
        state = "UNDELIV"               # DELIVRD, UNDELIV, REJECTD, EXPIRED or UNKNOWN
        err = 6                         # optional when the code is a known one
        code = "MK:0001"
        # delay_s = 10                  # fixed delay after acceptance; default: the distribution
        # lost = true                   # no receipt at all (state may then be left out)

    UNDELIV and REJECTD weights are split over the reference's failure codes (empty number, suspended,
    blacklist, flow control, other; content, spam), each with its receipt err.
    """
    path = f"{where}: carriers.{code}"
    _reject_unknown(data, _PROFILE_KEYS, path)
    name = data.get("name", code)
    if not isinstance(name, str) or not name:
        raise ValueError(f"{path}.name must be a non-empty string")
    median = _number(data, "receipt_median_ms", 4000.0, path, minimum=1.0) / 1000.0
    p99 = _number(data, "receipt_p99_ms", 33000.0, path, minimum=1.0) / 1000.0
    if p99 < median:
        raise ValueError(f"{path}.receipt_p99_ms must not be below receipt_median_ms")
    loss = _number(data, "loss_percent", 0.2, path)
    if loss > 100:
        raise ValueError(f"{path}.loss_percent must be at most 100")
    default_validity = _number(data, "default_validity_s", 48 * 3600.0, path)
    max_validity = _number(data, "max_validity_s", 72 * 3600.0, path)
    if default_validity > max_validity:
        raise ValueError(f"{path}.default_validity_s must not exceed max_validity_s")
    rules_value = data.get("rules", [])
    if not isinstance(rules_value, list):
        raise ValueError(f"{path}.rules must be an array of tables ([[carriers.{code}.rules]])")
    return CarrierProfile(
        code=code,
        name=name,
        submit_latency=_number(data, "submit_latency_ms", 20.0, path) / 1000.0,
        receipt_median=median,
        receipt_p99=p99,
        outcomes=_outcomes(data.get("outcomes", _DEFAULT_OUTCOMES), f"{path}.outcomes"),
        loss_rate=loss / 100.0,
        throughput=_number(data, "throughput", 100.0, path),
        queue_limit=_integer(data, "queue_limit", 10000, path),
        default_validity=default_validity,
        max_validity=max_validity,
        rules=scenario_rules_from_list(rules_value, where, key=f"carriers.{code}.rules"),
    )


def scenario_rules_from_list(rules: Sequence[object], where: str, *, key: str = "scenario") -> tuple[ScenarioRule, ...]:
    """Parse an array of rule tables (keys as in profile_from_dict's example); errors name `key[i].field`."""
    parsed: list[ScenarioRule] = []
    for index, entry in enumerate(rules):
        path = f"{where}: {key}[{index}]"
        if not isinstance(entry, Mapping):
            raise ValueError(f"{path} must be a table")
        parsed.append(_rule(entry, path))
    return tuple(parsed)


def _rule(data: Mapping[str, object], path: str) -> ScenarioRule:
    _reject_unknown(data, _RULE_KEYS, path)
    pattern = data.get("pattern")
    if not isinstance(pattern, str) or not pattern or not set(pattern) <= _PATTERN_CHARS:
        raise ValueError(f"{path}.pattern must be digits, optionally with glob characters * ? [ ]")
    lost = data.get("lost", False)
    if not isinstance(lost, bool):
        raise ValueError(f"{path}.lost must be true or false")
    word = data.get("state", "EXPIRED" if lost else None)
    if not isinstance(word, str) or word not in RULE_STATES:
        raise ValueError(f"{path}.state must be one of {', '.join(RULE_STATES)}")
    state = RULE_STATES[word]
    code = data.get("code")
    if code is not None and not isinstance(code, str):
        raise ValueError(f"{path}.code must be a string")
    if code is None:
        # Without a code the rule takes its state's most common one (UNDELIV: empty number).
        default_err, code, _ = _CODE_MIX[state][0]
    else:
        default_err = _ERR_BY_CODE.get(code, 0 if state is MessageState.DELIVERED else -1)
    err_value = data.get("err", default_err)
    if err_value == -1 and "err" not in data:
        raise ValueError(f"{path}.err is required for carrier code {code!r}")
    if isinstance(err_value, bool) or not isinstance(err_value, int) or not 0 <= err_value <= 999:
        raise ValueError(f"{path}.err must be a whole number from 0 to 999")
    delay: float | None = None
    if "delay_s" in data:
        delay = _number(data, "delay_s", 0.0, path)
    if lost:
        state, err_value, code = LOST_OUTCOME.state, LOST_OUTCOME.err, LOST_OUTCOME.code
    return ScenarioRule(pattern=pattern, state=state, err=err_value, code=code, delay=delay, lost=lost)
