"""Keyword content rules: which listed terms a message contains, and what the gateway does about it.

Each rule is one term with an action.  A message is folded (``normalise``), scanned once with an
Aho-Corasick automaton over all terms, and the most severe hit decides the verdict.  Terms that
start with a latin letter only count at a word start, so "loan" does not fire inside "sloan".
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NoReturn

from .automaton import Automaton
from .normalise import needs_word_start, normalise_for_matching, normalise_with_word_starts

# "status": refuse in submit_sm_resp (nothing billed); "receipt": accept, then a REJECTD receipt.
REJECT_MODES = ("status", "receipt")
DEFAULT_ERR_CODE = 2  # 3-digit receipt err for "blocked keyword"


class Action(StrEnum):
    FLAG = "flag"  # deliver; the hit is only recorded
    REVIEW = "review"  # accept and hold for manual review
    REJECT = "reject"  # refuse (submit_sm_resp error or REJECTD receipt, per reject_mode)
    SUSPEND = "suspend"  # refuse and suspend the account's sending

    @property
    def severity(self) -> int:
        """FLAG 1 < REVIEW 2 < REJECT 3 < SUSPEND 4."""
        return _SEVERITY[self]


_SEVERITY = {Action.FLAG: 1, Action.REVIEW: 2, Action.REJECT: 3, Action.SUSPEND: 4}


class ContentRulesError(ValueError):
    """A rule set that cannot be loaded; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class Rule:
    term: str  # as listed (before folding)
    category: str
    action: Action
    legal_category: int | None
    reject_mode: str = "status"
    err_code: int = DEFAULT_ERR_CODE

    def __post_init__(self) -> None:
        _validate(self.term, self.action, self.legal_category, self.reject_mode, self.err_code)
        if not normalise_for_matching(self.term):
            raise ValueError(f"term {self.term!r} is empty once separators are removed")


@dataclass(frozen=True, slots=True)
class Category:
    """A named group of terms sharing a default action; ``overrides`` give single terms another action."""

    name: str
    label: str
    legal_category: int | None  # 1..9: Art. 15 prohibited category; None: platform category
    action: Action
    terms: tuple[str, ...]
    reject_mode: str = "status"
    err_code: int = DEFAULT_ERR_CODE
    overrides: tuple[tuple[str, Action], ...] = ()

    def __post_init__(self) -> None:
        _validate(self.name, self.action, self.legal_category, self.reject_mode, self.err_code)
        if not self.terms:
            raise ValueError(f"category {self.name}: no terms")
        unknown = [term for term, _action in self.overrides if term not in self.terms]
        if unknown:
            raise ValueError(f"category {self.name}: overrides for unlisted terms {unknown}")

    def rules(self) -> tuple[Rule, ...]:
        actions = dict(self.overrides)
        return tuple(
            Rule(
                term=term,
                category=self.name,
                action=actions.get(term, self.action),
                legal_category=self.legal_category,
                reject_mode=self.reject_mode,
                err_code=self.err_code,
            )
            for term in self.terms
        )


@dataclass(frozen=True, slots=True)
class Hit:
    rule: Rule
    matched: str  # the term as listed


@dataclass(frozen=True, slots=True)
class Verdict:
    action: Action | None  # None: no term matched
    hits: tuple[Hit, ...]  # every rule that matched, once, in text order
    deciding: Hit | None  # the most severe hit (the earliest, then longest, among equals)


CLEAN = Verdict(action=None, hits=(), deciding=None)


def _validate(what: str, action: Action, legal_category: int | None, reject_mode: str, err_code: int) -> None:
    if not isinstance(action, Action):
        raise ValueError(f"{what}: action {action!r} is not an Action")
    if legal_category is not None and not 1 <= legal_category <= 9:
        raise ValueError(f"{what}: legal_category {legal_category} outside 1..9")
    if reject_mode not in REJECT_MODES:
        raise ValueError(f"{what}: reject_mode {reject_mode!r} not one of {', '.join(REJECT_MODES)}")
    if not 0 <= err_code <= 999:
        raise ValueError(f"{what}: err_code {err_code} outside 0..999")


@dataclass(frozen=True, slots=True)
class _Entry:
    """Automaton payload: all rules whose term folds to the same string."""

    rules: tuple[Rule, ...]
    word_start: bool


class ContentRules:
    """An immutable rule set; ``check`` is safe to call from anywhere once built."""

    __slots__ = ("_automaton", "_rules")

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._rules = tuple(rules)
        grouped: dict[str, list[Rule]] = {}
        for rule in self._rules:
            key = normalise_for_matching(rule.term)
            same = grouped.setdefault(key, [])
            if any(other.category == rule.category for other in same):
                # Two spellings of one term in one category would have two actions: ambiguous.
                raise ValueError(f"category {rule.category}: term {rule.term!r} is listed twice (as {key!r})")
            same.append(rule)
        self._automaton = Automaton({key: _Entry(tuple(same), needs_word_start(key)) for key, same in grouped.items()})

    @classmethod
    def from_categories(cls, categories: Iterable[Category]) -> ContentRules:
        return cls(rule for category in categories for rule in category.rules())

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> ContentRules:
        """Load ``[categories.<name>]`` tables (see fixtures/content/keywords.toml for the format)."""
        return cls.from_categories(load_categories(path))

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self._rules

    def __len__(self) -> int:
        return len(self._rules)

    def check(self, text: str) -> Verdict:
        folded, word_starts = normalise_with_word_starts(text)
        found: dict[Rule, tuple[int, int]] = {}
        for match in self._automaton.find_all(folded):
            entry = match.payload
            if entry.word_start and not word_starts[match.start]:
                continue
            order = (match.start, match.start - match.end)  # text order, longer first
            for rule in entry.rules:
                if rule not in found or order < found[rule]:
                    found[rule] = order
        if not found:
            return CLEAN
        hits = tuple(Hit(rule, rule.term) for rule in sorted(found, key=found.__getitem__))
        deciding = hits[0]
        for hit in hits[1:]:
            if hit.rule.action.severity > deciding.rule.action.severity:
                deciding = hit
        return Verdict(action=deciding.rule.action, hits=hits, deciding=deciding)


# --- TOML loading ------------------------------------------------------------------------------

_CATEGORY_KEYS = frozenset({"label", "legal_category", "action", "terms", "reject_mode", "err_code"})
_TERM_KEYS = frozenset({"term", "action"})


def load_categories(path: str | os.PathLike[str]) -> list[Category]:
    """Parse and validate a keyword file; every error names the file and the offending key."""
    file = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ContentRulesError(f"{file}: cannot read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ContentRulesError(f"{file}: invalid TOML: {exc}") from exc

    extra = sorted(set(data) - {"categories"})
    if extra:
        _fail(file, extra[0], "unknown key (expected only [categories.<name>] tables)")
    tables = data.get("categories")
    if not isinstance(tables, dict) or not tables:
        _fail(file, "categories", "missing or empty: expected [categories.<name>] tables")
    return [_category(file, name, body) for name, body in tables.items()]


def _category(file: str, name: str, body: Any) -> Category:
    key = f"categories.{name}"
    if not isinstance(body, dict):
        _fail(file, key, "expected a table")
    extra = sorted(set(body) - _CATEGORY_KEYS)
    if extra:
        _fail(file, f"{key}.{extra[0]}", f"unknown key (expected {', '.join(sorted(_CATEGORY_KEYS))})")

    label = body.get("label", name)
    if not isinstance(label, str) or not label:
        _fail(file, f"{key}.label", "expected a non-empty string")
    legal = body.get("legal_category")
    if legal is not None and (not _is_int(legal) or not 1 <= legal <= 9):
        _fail(file, f"{key}.legal_category", f"expected an integer 1..9, got {legal!r}")
    if "action" not in body:
        _fail(file, f"{key}.action", "missing")
    action = _action(file, f"{key}.action", body["action"])
    reject_mode = body.get("reject_mode", "status")
    if reject_mode not in REJECT_MODES:
        _fail(file, f"{key}.reject_mode", f"expected one of {', '.join(REJECT_MODES)}, got {reject_mode!r}")
    err_code = body.get("err_code", DEFAULT_ERR_CODE)
    if not _is_int(err_code) or not 0 <= err_code <= 999:
        _fail(file, f"{key}.err_code", f"expected an integer 0..999, got {err_code!r}")

    raw_terms = body.get("terms")
    if not isinstance(raw_terms, list) or not raw_terms:
        _fail(file, f"{key}.terms", "expected a non-empty array")
    terms: list[str] = []
    overrides: list[tuple[str, Action]] = []
    seen: dict[str, str] = {}
    for index, item in enumerate(raw_terms):
        item_key = f"{key}.terms[{index}]"
        if isinstance(item, dict):
            extra = sorted(set(item) - _TERM_KEYS)
            if extra:
                _fail(file, f"{item_key}.{extra[0]}", "unknown key (expected term, action)")
            term = item.get("term")
        else:
            term = item
        if not isinstance(term, str):
            _fail(file, item_key, f"expected a string or {{ term = ..., action = ... }}, got {term!r}")
        if isinstance(item, dict) and "action" in item:
            overrides.append((term, _action(file, f"{item_key}.action", item["action"])))
        folded = normalise_for_matching(term)
        if not folded:
            _fail(file, item_key, f"term {term!r} is empty once separators are removed")
        if folded in seen:
            _fail(file, item_key, f"term {term!r} duplicates {seen[folded]!r} once folded")
        seen[folded] = term
        terms.append(term)

    return Category(
        name=name,
        label=label,
        legal_category=legal,
        action=action,
        terms=tuple(terms),
        reject_mode=reject_mode,
        err_code=err_code,
        overrides=tuple(overrides),
    )


def _action(file: str, key: str, value: Any) -> Action:
    try:
        return Action(value)
    except ValueError:
        _fail(file, key, f"unknown action {value!r} (expected one of {', '.join(a.value for a in Action)})")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _fail(file: str, key: str, problem: str) -> NoReturn:
    raise ContentRulesError(f"{file}: {key}: {problem}")
