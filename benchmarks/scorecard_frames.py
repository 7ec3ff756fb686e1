"""CPU of the client scorecard per submit and its answer, frames only (no sockets, no reactor).

    python benchmarks/scorecard_frames.py OLD_TREE NEW_TREE [--rounds 4]

Runs each tree in its own interpreter, alternately, and prints the best of five passes of 100,000
submit_sm + submit_sm_resp frames through one session's scorecard (process CPU time).
"""

from __future__ import annotations

import argparse
import subprocess
import sys

PASS = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from smppgw.protocol import codec, pdu as p
from smppgw.rig.scorecard import Scorecards
card = Scorecards().open("127.0.0.1:1", "127.0.0.1", 0.0, lambda: "demo")
sub = [codec.encode(p.SubmitSm(sequence_number=s, source_addr="10690000", destination_addr="13800138000",
                               short_message=b"hi")) for s in range(2, 10002)]
resp = [codec.encode(p.SubmitSmResp(sequence_number=s, message_id="abc")) for s in range(2, 10002)]
best, now = 1e9, 0.0
for _ in range(5):
    started = time.process_time()
    for _ in range(10):
        for a, b in zip(sub, resp):
            now += 0.0001
            card.frame_in(a, now)
            card.frame_out(b, now + 0.00005)
    best = min(best, (time.process_time() - started) / 100_000)
print(f"{sys.argv[1]}: {best * 1e6:.2f} us CPU per submit_sm + submit_sm_resp")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("trees", nargs=2, help="two source trees (checkouts) to compare")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    for _ in range(args.rounds):
        for tree in args.trees:
            subprocess.run([sys.executable, "-c", PASS, tree], check=True)


if __name__ == "__main__":
    main()
