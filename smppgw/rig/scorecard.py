"""The client scorecard: for each SMPP session, what the client did wrong.

It reads the PDU headers of every frame of a connection as the session cut them from the byte
stream (in) or encoded them (out), through the connection's WireTap (smppgw.server.hooks), never
the session's state; so it sees everything the session read, including what it refused:

- window overruns: a request arriving while ``window`` of the client's requests are unanswered;
- sequence numbers reused while the request carrying them is still unanswered;
- enquire_link habits: how many, the shortest gap, and links sent more often than once a second;
- deliver_sm / data_sm answers: errors, late (after ``late_s``), never;
- back-off after ESME_RTHROTTLED / ESME_RMSGQFUL: submits within ``backoff_s`` of such an answer
  (beyond a window's worth, which may have been in flight when it was sent) ignore it;
- reconnects within ``backoff_s`` of the same account's previous connection from that address closing;
- unbind etiquette: the session ended without an unbind / unbind_resp exchange;
- resubmits after a reconnect: a submit whose octets (all but the sequence number) equal one the
  account sent on an earlier session within ``resubmit_window_s``;
- what bounds the session's throughput (smppgw.rig.throughput), from the same frames' times and
  what the connection tells (smppgw.rig.linkfacts), live and at the end.

The thresholds are smppgw.config.rig.ScorecardRules, the ``[scorecard]`` section of the configuration.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, Protocol

from ..config.rig import ScorecardRules
from ..protocol.codec import HEADER
from ..protocol.constants import CommandId, CommandStatus
from .throughput import Bound, LinkFacts, Tally, bound_of, bound_text

C = CommandId
S = CommandStatus
_SUBMITS = frozenset({C.SUBMIT_SM, C.DATA_SM, C.SUBMIT_MULTI})
_THROTTLES = frozenset({S.ESME_RTHROTTLED, S.ESME_RMSGQFUL})
_OURS = frozenset({C.DELIVER_SM, C.DATA_SM})
_BINDS = frozenset({C.BIND_TRANSMITTER, C.BIND_RECEIVER, C.BIND_TRANSCEIVER})
# Plain ints for the per-frame comparisons: an enum member is a class attribute lookup each time.
_ENQUIRE_LINK, _UNBIND, _GENERIC_NACK = int(C.ENQUIRE_LINK), int(C.UNBIND), int(C.GENERIC_NACK)
# Recent submits remembered, over all accounts (~240 bytes each): one bound for the gateway, not one
# per account, so a thousand busy accounts cost no more than one.
_FINGERPRINTS = 20_000
_MAX_RECORDED = 100_000  # PDUs kept of one recorded session


def _no_account() -> str | None:
    return None


class CardLog(Protocol):
    """Where the scorecards' lines go (the rig's logger), already worded.  This module logs
    through it and imports no Twisted, so that it compiles where Twisted is not installed."""

    def info(self, text: str) -> None: ...

    def warn(self, text: str) -> None: ...


class _Unlogged:
    __slots__ = ()

    def info(self, text: str) -> None:
        pass

    def warn(self, text: str) -> None:
        pass


Probe = Callable[[], LinkFacts]
SAMPLE_S = 0.25  # the connection's facts are read at most this often while frames flow


class _Account:
    """What outlives one session: when each address last closed."""

    def __init__(self) -> None:
        self.closed_at: dict[str, float] = {}


# (account, fingerprint of a submit_sm body) -> (session id, when): the last _FINGERPRINTS submits
Fingerprints = OrderedDict[tuple[str, int], tuple[int, float]]


class Scorecard:
    def __init__(
        self,
        session_id: int,
        peer: str,
        host: str,
        now: float,
        *,
        rules: ScorecardRules,
        accounts: dict[str, _Account],
        fingerprints: Fingerprints,
        account_of: Callable[[], str | None],
        recorded: frozenset[str] = frozenset(),
        probe: Probe | None = None,
        clock: Callable[[], float] | None = None,
        log: CardLog | None = None,
    ) -> None:
        """``probe``: reads what the connection tells (the shell's); ``clock``: the time of a live view;
        ``log``: where a stopped recording is told (none: nowhere)."""
        self.session_id = session_id
        self.peer = peer
        self._host = host
        self.opened_at = now
        self.closed_at: float | None = None
        self.account: str | None = None
        self._rules = rules
        self._account_of = account_of
        self._history: _Account | None = None
        self._accounts = accounts
        self._fingerprints = fingerprints
        self._recorded = recorded
        # Every PDU of the session as (seconds since it opened, "in" | "out", frame), while its account
        # may be one being recorded (smppgw.rig.recording); None once it is not.
        self.recording: list[tuple[float, str, bytes]] | None = [] if recorded else None
        self._waiting: dict[int, int] = {}  # the client's unanswered requests: sequence -> command
        self._ours: dict[int, tuple[int, float]] = {}  # our unanswered requests: sequence -> (command, sent)
        self._throttle_until = 0.0
        self._in_flight_grace = 0
        self._last_enquire: float | None = None
        self._unbind_in = self._unbind_out = self._unbind_resp_in = self._unbind_resp_out = False
        self.requests = 0
        self.submits = 0
        self.window_overruns = 0
        self.peak_window = 0
        self.sequence_reuses = 0
        self.enquire_links = 0
        self.enquire_min_gap_s: float | None = None
        self.enquire_too_often = 0
        self.deliver_sent = 0
        self.deliver_errors = 0
        self.deliver_late = 0
        self.deliver_never = 0
        self.throttles = 0
        self.ignored_throttles = 0
        self.quick_reconnect = False
        self.resubmits = 0
        self.ending = "open"
        self.tally = Tally()
        self.link = LinkFacts()
        self._probe = probe
        self._clock = clock
        self._log = log or _Unlogged()
        self._sampled_at = float("-inf")
        self._last_frame = now
        self._at_end: Bound | None = None

    # ---- the two directions (smppgw.server.hooks.WireTap) -----------------------------------

    def frame_in(self, frame: bytes, now: float) -> None:
        """A whole PDU the client sent, before the session decoded it."""
        _, cid, status, seq = HEADER.unpack_from(frame)
        if self.recording is not None:
            self._record("in", frame, now)
        self._frame_at(now)
        if cid < 0x80000000:
            self._request_in(cid, seq, frame[16:] if cid in _SUBMITS else b"", now)
        else:
            self._response_in(status, seq, now)

    def frame_out(self, frame: bytes, now: float) -> None:
        """A whole PDU the gateway sends."""
        _, cid, status, seq = HEADER.unpack_from(frame)
        if self.recording is not None:
            self._record("out", frame, now)
        self._frame_at(now)
        if cid < 0x80000000:
            if cid in _OURS:
                self.deliver_sent += 1
                self.tally.deliver_out(seq, now)
            elif cid == _UNBIND:
                self._unbind_out = True
            self._ours[seq] = (cid, now)
        else:
            self._response_out(cid, status, seq, now)

    def _frame_at(self, now: float) -> None:
        self._last_frame = now
        if now - self._sampled_at >= SAMPLE_S:
            self.sample(now)

    def sample(self, now: float) -> None:
        """Read what the connection tells now (its round trip, back-pressure, queued deliveries)."""
        self._sampled_at = now
        if self._probe is None:
            return
        self.link = link = self._probe()
        if link.rtt_s is not None:
            self.tally.rtt_s = link.rtt_s
        self.tally.paused = link.writes_paused

    def _record(self, direction: str, frame: bytes, now: float) -> None:
        assert self.recording is not None
        if len(self.recording) >= _MAX_RECORDED:
            self._log.warn(f"recording of session {self.session_id} stopped at {_MAX_RECORDED} PDUs")
            self.recording = None
            return
        self.recording.append((now - self.opened_at, direction, frame))

    # ---- what each PDU tells -------------------------------------------------------------------

    def _request_in(self, cid: int, seq: int, body: bytes, now: float) -> None:
        """``body``: a submit's octets after its header (what its fingerprint is made of), else b""."""
        if self.account is None:
            self._learn_account(now)
        self.requests += 1
        waiting = self._waiting
        if seq in waiting:
            self.sequence_reuses += 1
        elif len(waiting) >= self._rules.window:
            self.window_overruns += 1
        waiting[seq] = cid
        self.peak_window = max(self.peak_window, len(waiting))
        if cid in _SUBMITS:
            self.submits += 1
            self.tally.submit_in(seq, now)
            if now < self._throttle_until:
                if self._in_flight_grace > 0:
                    self._in_flight_grace -= 1
                else:
                    self.ignored_throttles += 1
            self._fingerprint(body, now)
        elif cid == _ENQUIRE_LINK:
            self.enquire_links += 1
            if self._last_enquire is not None:
                gap = now - self._last_enquire
                self.enquire_min_gap_s = gap if self.enquire_min_gap_s is None else min(self.enquire_min_gap_s, gap)
                if gap < self._rules.enquire_min_gap_s:
                    self.enquire_too_often += 1
            self._last_enquire = now
        elif cid == _UNBIND:
            self._unbind_in = True

    def _response_in(self, status: int, seq: int, now: float) -> None:
        sent = self._ours.pop(seq, None)
        if sent is None:
            return
        command, at = sent
        if command in _OURS:
            self.tally.deliver_in(seq, now)
            if status:
                self.deliver_errors += 1
            if now - at > self._rules.late_s:
                self.deliver_late += 1
        elif command == _UNBIND:
            self._unbind_resp_in = True

    def _response_out(self, cid: int, status: int, seq: int, now: float) -> None:
        command = self._waiting.pop(seq, None)
        if command in _SUBMITS:
            self.tally.submit_out(seq, status in _THROTTLES, now)
        elif command == _UNBIND:
            self._unbind_resp_out = True
        elif command in _BINDS and not status:
            self._learn_account(now)
        if status in _THROTTLES and (command in _SUBMITS or cid == _GENERIC_NACK):
            self.throttles += 1
            if now >= self._throttle_until:
                # A windowed client may have a full window on the wire before the throttle reaches it.
                self._in_flight_grace = self._rules.window
            self._throttle_until = now + self._rules.backoff_s

    def _learn_account(self, now: float) -> None:
        if self.account is not None:
            return
        account = self._account_of()
        if account is None:
            return
        self.account = account
        if account not in self._recorded:
            self.recording = None
        self._history = history = self._accounts.setdefault(account, _Account())
        closed = history.closed_at.get(self._host)
        if closed is not None and self.opened_at - closed < self._rules.backoff_s:
            self.quick_reconnect = True

    def _fingerprint(self, body: bytes, now: float) -> None:
        if self.account is None:
            return
        submits = self._fingerprints
        key = (self.account, hash(body))  # in memory only: a 64-bit hash tells resubmits apart
        seen = submits.get(key)
        if seen is not None and seen[0] != self.session_id and now - seen[1] <= self._rules.resubmit_window_s:
            self.resubmits += 1
        submits[key] = (self.session_id, now)
        submits.move_to_end(key)
        if len(submits) > _FINGERPRINTS:
            submits.popitem(last=False)

    def close(self, now: float) -> None:
        self.closed_at = now
        self._learn_account(now)
        # An ended card is kept for the API (Scorecards.keep of them): it must not keep the session's
        # protocol object alive through the account_of callback.
        self._account_of = _no_account
        self._probe = None
        self._clock = None
        self._at_end = bound_of(self.tally.counters(now), self.link, self._rules.window)
        self._waiting.clear()
        self.deliver_never += sum(1 for command, _ in self._ours.values() if command in _OURS)
        self._ours.clear()
        if self._unbind_in and self._unbind_resp_out:
            self.ending = "unbound by the client"
        elif self._unbind_out and self._unbind_resp_in:
            self.ending = "unbound by the gateway"
        elif self._unbind_out:
            self.ending = "did not answer the gateway's unbind"
        elif self.account is not None:
            self.ending = "closed without unbind"
        else:
            self.ending = "closed before binding"
        if self._history is not None:
            self._history.closed_at[self._host] = now

    # ---- the verdict ---------------------------------------------------------------------------

    def throughput(self, now: float | None = None) -> Bound:
        """What bounds the session's throughput: up to ``now`` (live), else up to its last frame."""
        if self._at_end is not None:
            return self._at_end
        if now is None:
            now = self._clock() if self._clock is not None else self._last_frame
        self.sample(now)
        return bound_of(self.tally.counters(now), self.link, self._rules.window)

    def faults(self) -> list[str]:
        r = self._rules
        found = []
        if self.window_overruns:
            found.append(f"window overrun: {self.window_overruns} requests beyond a window of {r.window}")
        if self.sequence_reuses:
            found.append(f"sequence numbers reused while outstanding: {self.sequence_reuses}")
        if self.ignored_throttles:
            found.append(
                f"ignored throttling: {self.ignored_throttles} submits within {r.backoff_s:g} s of"
                " ESME_RTHROTTLED/ESME_RMSGQFUL"
            )
        if self.enquire_too_often:
            found.append(f"enquire_link too often: {self.enquire_too_often} within {r.enquire_min_gap_s:g} s")
        if self.deliver_errors:
            found.append(f"deliver_sm answered with an error: {self.deliver_errors}")
        if self.deliver_late:
            found.append(f"deliver_sm answered late (> {r.late_s:g} s): {self.deliver_late}")
        if self.deliver_never:
            found.append(f"deliver_sm never answered: {self.deliver_never}")
        if self.quick_reconnect:
            found.append(f"reconnected within {r.backoff_s:g} s of the last connection closing")
        if self.resubmits:
            found.append(f"resubmitted after reconnecting: {self.resubmits} messages sent on an earlier session")
        if self.ending in ("closed without unbind", "did not answer the gateway's unbind"):
            found.append(f"unbind etiquette: {self.ending}")
        return found

    def to_json(self) -> dict[str, Any]:
        faults = self.faults()
        return {
            "id": self.session_id,
            "account": self.account,
            "peer": self.peer,
            "open": self.closed_at is None,
            "duration_s": None if self.closed_at is None else round(self.closed_at - self.opened_at, 3),
            "clean": not faults,
            "faults": faults,
            "counts": {
                "requests": self.requests,
                "submits": self.submits,
                "peak_window": self.peak_window,
                "window_overruns": self.window_overruns,
                "sequence_reuses": self.sequence_reuses,
                "enquire_links": self.enquire_links,
                "enquire_min_gap_s": None if self.enquire_min_gap_s is None else round(self.enquire_min_gap_s, 3),
                "enquire_too_often": self.enquire_too_often,
                "deliver_sent": self.deliver_sent,
                "deliver_errors": self.deliver_errors,
                "deliver_late": self.deliver_late,
                "deliver_never": self.deliver_never,
                "throttled": self.throttles,
                "ignored_throttles": self.ignored_throttles,
                "resubmits": self.resubmits,
            },
            "ending": self.ending,
            "rules": asdict(self._rules),
            "throughput": self.throughput().to_json(),
        }


def scorecard_text(card: dict[str, Any]) -> str:
    """The readable form of a scorecard's JSON (the CLI and the log use it)."""
    who = f"session {card['id']} ({card['account'] or '-'} from {card['peer']})"
    counts = card["counts"]
    verdict = "clean" if card["clean"] else f"{len(card['faults'])} fault(s)"
    ending = "" if card["open"] else f", {card['ending']} after {card['duration_s']} s"
    lines = [
        f"{who}: {verdict}{ending}",
        f"  {counts['requests']} requests, {counts['submits']} submits, peak window {counts['peak_window']}"
        f"/{card['rules']['window']}, {counts['throttled']} throttled, {counts['enquire_links']} enquire_links",
    ]
    lines += [f"  - {fault}" for fault in card["faults"]]
    bound = card.get("throughput")
    if bound is not None:
        lines.append(f"  {bound_text(bound)}")
        lines += [f"    {line}" for line in bound["evidence"]]
    return "\n".join(lines)


class Scorecards:
    """Every session's scorecard: the live ones and the last ``keep`` that ended."""

    def __init__(
        self,
        rules: ScorecardRules | None = None,
        keep: int = 1000,
        clock: Callable[[], float] | None = None,
        log: CardLog | None = None,
    ) -> None:
        """``clock``: the time of a live card's view (the gateway's; without it, its last frame's);
        ``log``: where each ended session's report goes (none: nowhere)."""
        self.rules = rules or ScorecardRules()
        self._clock = clock
        self._log = log or _Unlogged()
        self._next = 1
        self._cards: dict[int, Scorecard] = {}
        self._ended: deque[int] = deque()
        self._keep = keep
        self._accounts: dict[str, _Account] = {}
        self._fingerprints: Fingerprints = OrderedDict()
        self.recorded: frozenset[str] = frozenset()  # accounts whose new sessions are recorded

    def number_from(self, first: int) -> None:
        """Session ids start here (each worker of ``serve --workers`` numbers in its own range)."""
        self._next = max(self._next, first)

    def open(
        self,
        peer: str,
        host: str,
        now: float,
        account_of: Callable[[], str | None],
        probe: Probe | None = None,
        *,
        kind: type[Scorecard] = Scorecard,
        rules: ScorecardRules | None = None,
    ) -> Scorecard:
        """``probe``: what the connection tells (the shell's); ``kind``: the card class of the
        connection's protocol; ``rules``: in place of ``self.rules``."""
        card = kind(
            self._next,
            peer,
            host,
            now,
            rules=rules or self.rules,
            accounts=self._accounts,
            fingerprints=self._fingerprints,
            account_of=account_of,
            recorded=self.recorded,
            probe=probe,
            clock=self._clock,
            log=self._log,
        )
        self._cards[card.session_id] = card
        self._next += 1
        return card

    def ended(self, card: Scorecard, now: float) -> None:
        """The session is over: its report goes to the log, and stays readable through the API."""
        card.close(now)
        self._log.info(f"scorecard of {scorecard_text(card.to_json())}")
        self._ended.append(card.session_id)
        while len(self._ended) > self._keep:
            self._cards.pop(self._ended.popleft(), None)

    def get(self, session_id: int) -> Scorecard | None:
        return self._cards.get(session_id)
