"""Aho-Corasick multi-pattern matcher: every listed term found in one pass over the text.

The cost of a search grows with the text length and the number of matches, not with the number of
terms, which keeps content checks cheap with tens of thousands of keywords.  Terms are matched as
given; callers fold texts and terms beforehand (see ``normalise``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class Match(Generic[P]):
    """One occurrence: ``text[start:end] == term``."""

    start: int
    end: int
    term: str
    payload: P


class Automaton(Generic[P]):
    """Built once from ``{term: payload}``; immutable afterwards, so it can be shared freely."""

    __slots__ = ("_fail", "_goto", "_out", "_payloads", "_terms")

    def __init__(self, entries: Mapping[str, P]) -> None:
        terms = list(entries)
        if any(not term for term in terms):
            raise ValueError("empty term")
        self._terms: tuple[str, ...] = tuple(terms)
        self._payloads: tuple[P, ...] = tuple(entries[term] for term in terms)
        goto: list[dict[str, int]] = [{}]
        own: list[tuple[int, ...]] = [()]
        for index, term in enumerate(terms):
            node = 0
            for ch in term:
                child = goto[node].get(ch)
                if child is None:
                    child = len(goto)
                    goto.append({})
                    own.append(())
                    goto[node][ch] = child
                node = child
            own[node] = (index,)

        # Breadth-first, so a node's failure target (always shallower) is complete before the node.
        fail = [0] * len(goto)
        out: list[tuple[int, ...]] = list(own)
        queue: deque[int] = deque(goto[0].values())
        while queue:
            node = queue.popleft()
            for ch, child in goto[node].items():
                queue.append(child)
                target = fail[node]
                while target and ch not in goto[target]:
                    target = fail[target]
                suffix = goto[target].get(ch, 0)
                fail[child] = suffix
                # Terms that end here via a shorter suffix are reported too (he inside she).
                out[child] = own[child] + out[suffix]
        self._goto = goto
        self._fail = fail
        self._out = out

    def __len__(self) -> int:
        return len(self._terms)

    def find_all(self, text: str) -> list[Match[P]]:
        """All occurrences of all terms, overlapping ones included, ordered by end (longer first)."""
        goto, fail, out = self._goto, self._fail, self._out
        terms, payloads = self._terms, self._payloads
        matches: list[Match[P]] = []
        node = 0
        for position, ch in enumerate(text):
            while True:
                child = goto[node].get(ch)
                if child is not None:
                    node = child
                    break
                if not node:
                    break
                node = fail[node]
            found = out[node]
            if found:
                end = position + 1
                for index in found:
                    term = terms[index]
                    matches.append(Match(end - len(term), end, term, payloads[index]))
        return matches
