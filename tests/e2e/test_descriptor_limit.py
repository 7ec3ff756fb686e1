"""At start the gateway raises its descriptor limit so that 10,000 sessions fit, and says so in its
log when the system does not allow it (a hard limit too low), instead of failing later on an accept."""

from __future__ import annotations

import resource
import subprocess
import sys

import pytest

PROGRAM = (
    "from smppgw.cli.limits import raise_descriptor_limit; import resource; "
    "print(raise_descriptor_limit()); print(resource.getrlimit(resource.RLIMIT_NOFILE)[0])"
)


def run_with_limits(soft: int, hard: int) -> list[str]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], preexec_fn=limit, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.splitlines()


HARD = resource.getrlimit(resource.RLIMIT_NOFILE)[1]


@pytest.mark.skipif(
    HARD != resource.RLIM_INFINITY and HARD < 11_264, reason=f"the hard descriptor limit here is {HARD}"
)
def test_a_low_soft_limit_is_raised_to_what_ten_thousand_sessions_need() -> None:
    said, soft = run_with_limits(256, HARD)
    assert said == "descriptor limit raised from 256 to 11264"
    assert int(soft) == 11_264


def test_a_hard_limit_too_low_is_raised_to_and_named_with_the_sessions_it_allows() -> None:
    said, soft = run_with_limits(256, 1024)
    assert int(soft) == 1024
    assert said == (
        "descriptor limit raised from 256 to 1024 (the hard limit); "
        "about 960 sessions at most: raise the hard limit (ulimit -Hn) for more"
    )


def test_a_soft_limit_already_at_the_hard_one_is_named_with_the_sessions_it_allows() -> None:
    said, soft = run_with_limits(1024, 1024)
    assert int(soft) == 1024
    assert said.startswith("descriptor limit 1024 (the hard limit); about 960 sessions at most")
