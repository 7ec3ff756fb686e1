"""A short run of the long fuzzer (tests/fuzz_long.py), so the runner itself keeps working.

The long run and its figures are in docs/reliability.md."""

from __future__ import annotations

from pathlib import Path

import fuzz_long
import pytest

from smppgw.protocol.session import SMPPSession


def test_a_short_run_feeds_both_protocols_deep_into_their_sessions_and_finds_nothing(tmp_path: Path) -> None:
    report = fuzz_long.fuzz(7, 3000, 20.0, ["smpp", "cmpp"], tmp_path)
    assert report.failures == [], "\n".join(report.lines())
    assert report.total >= 3000
    smpp, cmpp = report.tallies["smpp"], report.tallies["cmpp"]
    assert smpp.total and cmpp.total and smpp.inputs["mutated"] and cmpp.inputs["random"]
    # Not only garbage at a closed door: sessions bind, take requests and settle our deliveries.
    assert smpp.events["RequestReceived"] and smpp.events["ResponseReceived"]
    assert cmpp.events["Connected"] and cmpp.events["SubmitReceived"] and cmpp.events["DeliverAcknowledged"]
    assert list(tmp_path.iterdir()) == []


def test_a_session_that_answers_twice_is_caught_saved_and_replayed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    respond = SMPPSession.respond

    def respond_twice(self: SMPPSession, response: object) -> None:
        respond(self, response)  # type: ignore[arg-type]
        self._out.extend(self._out[-1:])

    monkeypatch.setattr(SMPPSession, "respond", respond_twice)
    report = fuzz_long.fuzz(7, 3000, 20.0, ["smpp"], tmp_path, max_failures=1)
    assert len(report.failures) == 1 and report.failures[0].exists()
    assert "answered more often than sent" in report.failures[0].read_text(encoding="utf-8")
    assert fuzz_long.replay(report.failures[0]) == 1
    monkeypatch.setattr(SMPPSession, "respond", respond)
    assert fuzz_long.replay(report.failures[0]) == 0
