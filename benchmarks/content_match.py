"""Print the build time of a 10,000-term rule set and the cost of one content check per message.

Messages: 70-character Chinese and 160-character latin texts, clean and with hits.
Run from the repository root:  python benchmarks/content_match.py [terms] [messages]
"""

from __future__ import annotations

import random
import string
import sys
import time
from collections.abc import Callable

from smppgw.content import Action, ContentRules, Rule
from smppgw.content.normalise import normalise_with_word_starts

# Terms draw from one pool of characters and clean texts from another, so "clean" really is clean;
# every latin term contains an "x" and clean latin text has none.
_CJK_TERM_POOL = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
_CJK_TEXT_POOL = [chr(c) for c in range(0x6000, 0x6000 + 3000)]
_LATIN_TEXT_LETTERS = string.ascii_lowercase.replace("x", "")
_ACTIONS = [Action.FLAG, Action.FLAG, Action.REVIEW, Action.REJECT, Action.SUSPEND]


def _terms(rng: random.Random, count: int) -> list[str]:
    terms: set[str] = set()
    while len(terms) < count:
        if rng.random() < 0.6:
            terms.add("".join(rng.choices(_CJK_TERM_POOL, k=rng.randint(2, 6))))
        else:
            word = rng.choices(string.ascii_lowercase, k=rng.randint(4, 9))
            word[rng.randrange(1, len(word))] = "x"
            terms.add("".join(word))
    return sorted(terms)


def _chinese(rng: random.Random, length: int, inserts: list[str]) -> str:
    chars = rng.choices(_CJK_TEXT_POOL, k=length - sum(len(t) for t in inserts))
    for term in inserts:
        at = rng.randrange(len(chars) + 1)
        chars[at:at] = [term]
    return "".join(chars)


def _latin(rng: random.Random, length: int, inserts: list[str]) -> str:
    budget = length - sum(len(t) + 1 for t in inserts)
    words: list[str] = []
    while sum(len(w) + 1 for w in words) <= budget:
        words.append("".join(rng.choices(_LATIN_TEXT_LETTERS, k=rng.randint(2, 9))))
    words = " ".join(words)[:budget].split()
    for term in inserts:
        words.insert(rng.randrange(len(words) + 1), term)
    return " ".join(words)


def _per_message_us(rules: ContentRules, messages: list[str], expect_hits: bool) -> tuple[float, float]:
    """(whole check, folding alone) in µs per message."""
    start = time.perf_counter()
    hit = sum(1 for text in messages if rules.check(text).action is not None)
    elapsed = time.perf_counter() - start
    if hit != (len(messages) if expect_hits else 0):
        raise SystemExit(f"unexpected: {hit} of {len(messages)} messages had hits")
    start = time.perf_counter()
    for text in messages:
        normalise_with_word_starts(text)
    folding = time.perf_counter() - start
    return elapsed / len(messages) * 1e6, folding / len(messages) * 1e6


def main(term_count: int = 10_000, message_count: int = 5_000) -> None:
    rng = random.Random(20240501)
    terms = _terms(rng, term_count)
    rule_list = [Rule(term, f"cat{i % 40}", _ACTIONS[i % len(_ACTIONS)], None) for i, term in enumerate(terms)]

    start = time.perf_counter()
    rules = ContentRules(rule_list)
    print(f"build: {len(rules):,} terms in {time.perf_counter() - start:.3f} s")

    chinese_terms = [t for t in terms if not t.isascii()]
    latin_terms = [t for t in terms if t.isascii()]
    cases: list[tuple[str, Callable[[list[str]], str], list[str], bool]] = [
        ("70-char Chinese, clean", lambda _: _chinese(rng, 70, []), [], False),
        ("70-char Chinese, 2 hits", lambda ts: _chinese(rng, 70, rng.sample(ts, 2)), chinese_terms, True),
        ("160-char latin, clean", lambda _: _latin(rng, 160, []), [], False),
        ("160-char latin, 2 hits", lambda ts: _latin(rng, 160, rng.sample(ts, 2)), latin_terms, True),
    ]
    for label, make, pool, expect_hits in cases:
        messages = [make(pool) for _ in range(message_count)]
        rules.check(messages[0])  # warm the per-character fold cache
        lengths = sorted(len(m) for m in messages)
        cost, folding = _per_message_us(rules, messages, expect_hits)
        print(
            f"{label:<24} {cost:7.1f} µs/message (folding {folding:5.1f} µs; "
            f"{lengths[0]}-{lengths[-1]} chars; {message_count:,} messages)"
        )


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:3]))
