"""What bounds a session's throughput, from synthetic timelines of its PDUs (smppgw.rig.throughput):
each bound is named from its own timeline, with the rate the session could reach without it."""

from __future__ import annotations

import pytest

from smppgw.rig.throughput import Bound, LinkFacts, Tally, bound_of

LOOPBACK = LinkFacts(rtt_s=0.00005)


def windowed(tally: Tally, window: int, latency: float, turnaround: float, count: int, t: float = 0.0) -> float:
    """A client that sends ``window`` submits, waits for their answers, and sends again."""
    seq = 1
    for _ in range(count // window):
        first = seq
        for _ in range(window):
            tally.submit_in(seq, t)
            seq += 1
        t += latency
        for s in range(first, seq):
            tally.submit_out(s, False, t)
        t += turnaround
    return t


def verdict(tally: Tally, now: float, link: LinkFacts = LOOPBACK, window: int = 10) -> Bound:
    return bound_of(tally.counters(now), link, window)


def test_a_window_of_one_is_bound_by_window_times_latency_and_ten_would_go_ten_times_faster():
    tally = Tally()
    end = windowed(tally, window=1, latency=0.010, turnaround=0.0002, count=100)
    found = verdict(tally, end)
    assert found.bound == "window"
    assert found.rate == pytest.approx(98, rel=0.03)  # 1 / 10.2 ms
    # With the window the gateway allows (10) the waits shrink tenfold; the client's turnaround stays.
    assert found.lifted_rate == pytest.approx(1 / (0.001 + 0.0002), rel=0.03)
    assert "peak 1 submits outstanding x 10 ms gateway latency: at most 100/s" in found.evidence


def test_a_window_of_ten_reaches_ten_times_the_rate_and_is_still_bound_by_the_window():
    one, ten = Tally(), Tally()
    one_end = windowed(one, window=1, latency=0.010, turnaround=0.0002, count=100)
    ten_end = windowed(ten, window=10, latency=0.010, turnaround=0.0002, count=100)
    slow, fast = verdict(one, one_end), verdict(ten, ten_end)
    assert fast.bound == "window" and fast.rate == pytest.approx(10 * slow.rate, rel=0.05)
    assert fast.lifted_rate == pytest.approx(2 * fast.rate, rel=0.1)  # beyond the allowed 10: twice its own
    assert "with a window of 20" in fast.evidence[1]


def test_a_client_hammering_a_throttled_account_is_bound_by_the_throttle():
    tally = Tally()
    t, token, seq = 0.0, 0.0, 1
    while t < 2.0:
        tally.submit_in(seq, t)
        if t >= token:  # the account's bucket: 20 a second
            token = t + 0.05
            t += 0.002
            tally.submit_out(seq, False, t)
        else:
            t += 0.0001
            tally.submit_out(seq, True, t)
        t += 0.0002
        seq += 1
    found = verdict(tally, t, LinkFacts(rtt_s=0.00005, rate_limit=20))
    assert found.bound == "throttle"
    assert found.rate == pytest.approx(20, rel=0.05)
    assert found.lifted_rate is not None and found.lifted_rate > 100 * found.rate  # every attempt accepted
    assert found.evidence[1] == "the account's rate is 20/s"
    assert found.evidence[0].endswith("submits answered ESME_RTHROTTLED/ESME_RMSGQFUL")


def test_a_client_that_backs_off_after_throttled_answers_is_bound_by_the_throttle():
    tally = Tally()
    t = 0.0
    for seq in range(1, 21):
        tally.submit_in(seq, t)
        t += 0.001
        tally.submit_out(seq, seq % 5 == 0, t)
        t += 0.5 if seq % 5 == 0 else 0.0002  # half a second of back-off after each throttled answer
    found = verdict(tally, t, LinkFacts(rtt_s=0.00005))
    assert found.bound == "throttle"
    assert found.shares["throttle"] == pytest.approx(1.5, rel=0.01)  # the last back-off is not closed
    assert "the account has no rate: the rig's faults throttle it" in found.evidence
    assert any(line.startswith("1.50 s waited after throttled answers") for line in found.evidence)


def test_sleeps_between_sends_are_the_clients_own_pauses():
    tally = Tally()
    t = 0.0
    for seq in range(1, 51):
        tally.submit_in(seq, t)
        t += 0.002
        tally.submit_out(seq, False, t)
        t += 0.020  # the client sleeps
    found = verdict(tally, t)
    assert found.bound == "pauses"
    assert found.rate == pytest.approx(1 / 0.022, rel=0.05)
    assert found.lifted_rate == pytest.approx(1 / 0.002, rel=0.1)
    assert found.evidence[1] == "20.0 ms of its own between sends, on average"


def test_a_client_that_does_not_answer_its_deliveries_is_not_reading():
    tally = Tally()
    t = 0.0
    for seq in range(1, 11):
        tally.submit_in(seq, t)
        t += 0.002
        tally.submit_out(seq, False, t)
        tally.deliver_out(1000 + seq, t)  # a receipt, answered only after the client reads again
        t += 0.3
        tally.deliver_in(1000 + seq, t)
    found = verdict(tally, t, LinkFacts(rtt_s=0.00005, queued=40))
    assert found.bound == "unread"
    assert found.lifted_rate is not None and found.lifted_rate > 5 * found.rate
    assert found.evidence[0].startswith("deliver_sm unanswered for 2.5")  # 0.3 - 0.05 s, ten times
    assert "40 receipts/MO for the account not yet acknowledged (sent or queued)" in found.evidence


def test_a_receiver_that_leaves_its_socket_unread_is_bound_by_its_reading():
    tally = Tally()
    for seq in range(1, 21):
        tally.deliver_out(seq, seq * 0.001)
    live = verdict(tally, 0.5, LinkFacts(writes_paused=True, buffered=4096))
    assert live.bound == "unread"
    assert "20 deliver_sm still unanswered" in live.evidence
    assert "the gateway's writes are paused: the client does not read its socket (back-pressure)" in live.evidence
    assert "4096 octets waiting in the gateway's transport buffer" in live.evidence
    for seq in range(1, 21):
        tally.deliver_in(seq, 0.6 + seq * 0.001)
    after = verdict(tally, 0.7)
    assert after.bound == "unread" and after.rate == pytest.approx(20 / 0.62, rel=0.02)


def test_a_receiver_that_answers_at_once_is_bound_by_nothing():
    tally = Tally()
    for seq in range(1, 21):
        tally.deliver_out(seq, seq * 0.01)
        tally.deliver_in(seq, seq * 0.01 + 0.001)
    assert verdict(tally, 1.0).bound is None


def test_long_round_trips_are_the_network():
    tally = Tally()
    end = windowed(tally, window=1, latency=0.001, turnaround=0.030, count=50)
    by_kernel = verdict(tally, end, LinkFacts(rtt_s=0.030))
    assert by_kernel.bound == "network"
    assert by_kernel.lifted_rate == pytest.approx(1 / 0.001, rel=0.1)
    assert "(TCP round trip)" in by_kernel.evidence[0]
    # Without TCP_INFO the shortest gap the client showed stands for the round trip.
    assert verdict(tally, end, LinkFacts()).bound == "network"


def test_a_kernel_round_trip_tells_a_sleeping_client_from_a_far_one():
    tally = Tally()
    end = windowed(tally, window=1, latency=0.001, turnaround=0.030, count=50)
    assert verdict(tally, end, LinkFacts(rtt_s=0.0001)).bound == "pauses"


def test_the_idle_time_after_the_last_answer_does_not_count():
    tally = Tally()
    end = windowed(tally, window=1, latency=0.010, turnaround=0.0002, count=20)
    assert verdict(tally, end + 600).to_json() == verdict(tally, end).to_json()


def test_the_accounts_rate_caps_the_rate_a_lifted_bound_would_reach():
    tally = Tally()
    end = windowed(tally, window=1, latency=0.010, turnaround=0.0002, count=100)
    found = verdict(tally, end, LinkFacts(rtt_s=0.00005, rate_limit=200))
    assert found.bound == "window" and found.lifted_rate == 200
    assert found.evidence[-1] == "lifted, the account's rate (200/s) would bound it"


def test_no_traffic_names_no_bound():
    found = verdict(Tally(), 5.0)
    assert found.bound is None and found.rate == 0
    assert found.to_json()["bound"] is None
