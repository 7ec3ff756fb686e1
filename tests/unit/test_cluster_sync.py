"""How a node lays its own recent changes over the shared store's view, and shares an account's throughput."""

from __future__ import annotations

from smppgw.cluster.sync import merge_lockouts, throughput_share


def test_a_lockout_started_here_since_the_read_is_in_force() -> None:
    stored = {("acme", "10.0.0.1"): 100.0}
    merged = merge_lockouts(stored, [(1.0, "acme", "10.0.0.2", 200.0)])
    assert merged == {("acme", "10.0.0.1"): 100.0, ("acme", "10.0.0.2"): 200.0}
    assert stored == {("acme", "10.0.0.1"): 100.0}  # the view read is left as it was


def test_a_lift_here_ends_the_stored_lockouts_of_that_address_or_of_the_whole_account() -> None:
    stored = {("acme", "10.0.0.1"): 100.0, ("acme", "10.0.0.2"): 100.0, ("beta", "10.0.0.1"): 100.0}
    one = merge_lockouts(stored, [(1.0, "acme", "10.0.0.1", None)])
    assert one == {("acme", "10.0.0.2"): 100.0, ("beta", "10.0.0.1"): 100.0}
    every = merge_lockouts(stored, [(1.0, "acme", None, None)])
    assert every == {("beta", "10.0.0.1"): 100.0}


def test_changes_apply_oldest_first() -> None:
    relocked = merge_lockouts({}, [(1.0, "acme", None, None), (2.0, "acme", "10.0.0.1", 300.0)])
    assert relocked == {("acme", "10.0.0.1"): 300.0}
    lifted = merge_lockouts({}, [(1.0, "acme", "10.0.0.1", 300.0), (2.0, "acme", None, None)])
    assert lifted == {}


def test_throughput_is_shared_in_proportion_to_the_binds_each_node_holds() -> None:
    assert throughput_share(90.0, 1, 3) == 30.0
    assert throughput_share(90.0, 2, 3) == 60.0
    # Binds not counted yet (none here, or no count): the whole limit.
    assert throughput_share(90.0, 0, 3) == 90.0
    assert throughput_share(90.0, 1, 0) == 90.0
