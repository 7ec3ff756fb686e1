"""Aho-Corasick automaton: every occurrence of every term, overlapping ones included, in one pass."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smppgw.content.automaton import Automaton, Match


def _naive(terms: list[str], text: str) -> set[tuple[int, int, str]]:
    return {
        (start, start + len(term), term)
        for term in terms
        for start in range(len(text) - len(term) + 1)
        if text.startswith(term, start)
    }


def test_classic_overlaps() -> None:
    automaton = Automaton({term: term.upper() for term in ["he", "she", "his", "hers"]})
    assert automaton.find_all("ushers") == [
        Match(1, 4, "she", "SHE"),
        Match(2, 4, "he", "HE"),
        Match(2, 6, "hers", "HERS"),
    ]


def test_term_spanning_the_whole_text_and_repeats() -> None:
    automaton = Automaton({"代开发票": 1, "发票": 2})
    assert [(m.start, m.end, m.payload) for m in automaton.find_all("代开发票")] == [(0, 4, 1), (2, 4, 2)]
    assert [m.start for m in automaton.find_all("发票发票发票")] == [0, 2, 4]


def test_no_match_and_empty_text() -> None:
    automaton = Automaton({"赌场": None})
    assert automaton.find_all("") == []
    assert automaton.find_all("赌 场") == []
    assert len(automaton) == 1


def test_empty_term_is_refused() -> None:
    with pytest.raises(ValueError, match="empty term"):
        Automaton({"": 1})


@given(
    terms=st.lists(st.text(alphabet="abc发票", min_size=1, max_size=5), min_size=1, max_size=12, unique=True),
    text=st.text(alphabet="abcd发票", max_size=40),
)
def test_finds_exactly_what_a_naive_search_finds(terms: list[str], text: str) -> None:
    automaton = Automaton({term: term for term in terms})
    matches = automaton.find_all(text)
    assert {(m.start, m.end, m.term) for m in matches} == _naive(terms, text)
    assert len(matches) == len(_naive(terms, text))
    assert all(m.payload == m.term == text[m.start : m.end] for m in matches)
    assert [m.end for m in matches] == sorted(m.end for m in matches)
