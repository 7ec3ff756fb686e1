"""Print route lookups per second over 1,000,000 random numbers with the fixture tables.

Run from the repository root:  python benchmarks/route_lookup.py [count]
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

from smppgw.routing.router import Router
from smppgw.routing.table import RouteTable

ROUTES = Path(__file__).resolve().parent.parent / "fixtures" / "routes"


def main(count: int = 1_000_000) -> None:
    table = RouteTable.merge(
        RouteTable.from_csv(ROUTES / "china-number-plan.csv", country_code="86"),
        RouteTable.from_csv(ROUTES / "international.csv"),
    )
    rng = random.Random(20240501)
    # Mainland E.164 numbers across the whole 1xx space, so hits, misses and 4/5-digit blocks all occur.
    numbers = [f"861{rng.randrange(10**10):010d}" for _ in range(count)]

    start = time.perf_counter()
    hits = sum(1 for number in numbers if table.lookup(number) is not None)
    elapsed = time.perf_counter() - start
    print(f"RouteTable.lookup: {count / elapsed:,.0f} lookups/s ({hits:,} of {count:,} matched, {elapsed:.2f} s)")

    router = Router(table, {}, {})
    national = [number[2:] for number in numbers]
    start = time.perf_counter()
    for number in national:
        router.route(number, _always_up)
    elapsed = time.perf_counter() - start
    print(f"Router.route (normalise + lookup): {count / elapsed:,.0f} routes/s ({elapsed:.2f} s)")


def _always_up(_carrier: str) -> bool:
    return True


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
