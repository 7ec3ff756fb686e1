"""The metric names a PromQL expression (or a Grafana variable query) reads, found by a small
tokenizer, and the checks a dashboard test makes with them.

Not a PromQL parser: it knows just enough of the grammar to tell a metric name from a function, an
aggregation, a keyword, a label name (inside ``{...}``, ``by (...)``, ``on (...)``...), a string, a
duration or a Grafana variable (``$account``, ``${carrier}``, ``$__rate_interval``).  For each
selector it also keeps the label names its matchers test, the functions that enclose it (innermost
first) and whether a range (``[5m]``) follows, which is what the type checks need.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# PromQL's functions (Prometheus 2.x) and aggregation operators, and Grafana's variable-query helpers.
FUNCTIONS = frozenset(
    [
        "abs",
        "absent",
        "absent_over_time",
        "acos",
        "acosh",
        "asin",
        "asinh",
        "atan",
        "atanh",
        "avg_over_time",
        "ceil",
        "changes",
        "clamp",
        "clamp_max",
        "clamp_min",
        "cos",
        "cosh",
        "count_over_time",
        "day_of_month",
        "day_of_week",
        "day_of_year",
        "days_in_month",
        "deg",
        "delta",
        "deriv",
        "exp",
        "floor",
        "histogram_avg",
        "histogram_count",
        "histogram_fraction",
        "histogram_quantile",
        "histogram_stddev",
        "histogram_stdvar",
        "histogram_sum",
        "holt_winters",
        "hour",
        "idelta",
        "increase",
        "irate",
        "label_join",
        "label_replace",
        "last_over_time",
        "ln",
        "log10",
        "log2",
        "mad_over_time",
        "max_over_time",
        "min_over_time",
        "minute",
        "month",
        "pi",
        "predict_linear",
        "present_over_time",
        "quantile_over_time",
        "rad",
        "rate",
        "resets",
        "round",
        "scalar",
        "sgn",
        "sin",
        "sinh",
        "sort",
        "sort_by_label",
        "sort_by_label_desc",
        "sort_desc",
        "sqrt",
        "stddev_over_time",
        "stdvar_over_time",
        "sum_over_time",
        "tan",
        "tanh",
        "time",
        "timestamp",
        "vector",
        "year",
        "start",
        "end",
        "label_values",
        "label_names",
        "metrics",
        "query_result",
    ]
)
AGGREGATIONS = frozenset(
    [
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
        "limitk",
        "limit_ratio",
    ]
)
# Words followed by a parenthesised list of label names, not an expression.
LABEL_LISTS = frozenset(["by", "without", "on", "ignoring", "group_left", "group_right"])
KEYWORDS = frozenset(["and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"]) | LABEL_LISTS
RANGE_FUNCTIONS = frozenset({"rate", "irate", "increase"})

_TOKEN = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<comment>\#[^\n]*)
    | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
    | (?P<variable>\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\[\[[^\]]*\]\])
    | (?P<number>0[xX][0-9a-fA-F]+|[0-9][0-9A-Za-z_.]*|\.[0-9][0-9A-Za-z_.]*)
    | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
    | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=,(){}\[\]@:])
    """,
    re.VERBOSE,
)


class PromQLSyntaxError(ValueError):
    """What the tokenizer cannot read (an unknown function, an unclosed bracket, a stray character)."""


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # string, variable, number, ident, op
    text: str
    start: int = 0  # where it starts in the expression


@dataclass(frozen=True, slots=True)
class MetricRef:
    """One selector: ``name{label=...}[range]`` and the calls around it, innermost first."""

    name: str
    labels: tuple[str, ...] = ()
    functions: tuple[str, ...] = ()
    ranged: bool = False
    # The selector as written (``name{...}``, without its range), to query it alone.
    selector: str = field(default="", compare=False)


def tokenize(expr: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(expr):
        match = _TOKEN.match(expr, position)
        if match is None:
            raise PromQLSyntaxError(f"cannot read {expr[position : position + 20]!r} at {position} in {expr!r}")
        position = match.end()
        kind = match.lastgroup
        assert kind is not None
        if kind not in {"space", "comment"}:
            tokens.append(Token(kind, match.group(), match.start()))
    return tokens


def _matcher_labels(tokens: list[Token], start: int, expr: str) -> tuple[list[str], str | None, int]:
    """Label names tested in the ``{...}`` opening at ``start``, a ``__name__="x"`` if any, and the
    index after the closing brace."""
    labels: list[str] = []
    name: str | None = None
    i = start + 1
    while i < len(tokens) and tokens[i].text != "}":
        token = tokens[i]
        if token.kind == "ident" and i + 2 < len(tokens) and tokens[i + 1].text in {"=", "!=", "=~", "!~"}:
            value = tokens[i + 2]
            if token.text == "__name__" and value.kind == "string" and tokens[i + 1].text == "=":
                name = value.text[1:-1]
            else:
                labels.append(token.text)
            i += 3
            continue
        if token.kind == "string" and i == start + 1:  # Prometheus 3: {"metric.name", ...}
            name = token.text[1:-1]
        i += 1
    if i >= len(tokens):
        raise PromQLSyntaxError(f"unclosed '{{' in {expr!r}")
    return labels, name, i + 1


def _skip_brackets(tokens: list[Token], start: int, expr: str) -> int:
    """Index after the ``]`` that closes the ``[`` at ``start`` (a range or a subquery)."""
    i = start
    while i < len(tokens) and tokens[i].text != "]":
        i += 1
    if i >= len(tokens):
        raise PromQLSyntaxError(f"unclosed '[' in {expr!r}")
    return i + 1


def _skip_label_list(tokens: list[Token], start: int, expr: str) -> int:
    """Index after ``( a, b )`` at ``start``; ``group_left`` may come without one."""
    if start >= len(tokens) or tokens[start].text != "(":
        return start
    i = start + 1
    while i < len(tokens) and tokens[i].text != ")":
        if tokens[i].kind not in {"ident", "string"} and tokens[i].text != ",":
            raise PromQLSyntaxError(f"not a label list after {tokens[start - 1].text!r} in {expr!r}")
        i += 1
    if i >= len(tokens):
        raise PromQLSyntaxError(f"unclosed '(' in {expr!r}")
    return i + 1


def metric_refs(expr: str) -> list[MetricRef]:
    """Every selector in ``expr``, in order."""
    tokens = tokenize(expr)
    refs: list[MetricRef] = []
    # One entry per open parenthesis: the function it calls, or "" for plain grouping.
    calls: list[str] = []
    # An aggregation whose ``by (...)`` came before its parenthesis: ``sum by (x) (...)``.
    pending_call: str | None = None
    i = 0
    while i < len(tokens):
        token = tokens[i]
        following = tokens[i + 1].text if i + 1 < len(tokens) else ""
        if token.kind == "ident" and token.text in LABEL_LISTS:
            i = _skip_label_list(tokens, i + 1, expr)
            continue
        if token.kind == "ident" and token.text == "offset":  # offset 5m, offset -5m: a duration
            i += 3 if following == "-" else 2
            continue
        if token.kind == "ident" and (token.text in FUNCTIONS or token.text in AGGREGATIONS):
            if following == "(":
                calls.append(token.text)
                i += 2
                continue
            if token.text in AGGREGATIONS and following in LABEL_LISTS:
                pending_call = token.text
                i += 1
                continue
            if token.text in {"inf", "nan"}:
                i += 1
                continue
        if token.kind == "ident" and token.text.lower() in KEYWORDS:
            i += 1
            continue
        if token.kind == "ident":
            if following == "(":
                raise PromQLSyntaxError(f"unknown function {token.text!r} in {expr!r}")
            labels: list[str] = []
            start = token.start
            i += 1
            if i < len(tokens) and tokens[i].text == "{":
                labels, _, i = _matcher_labels(tokens, i, expr)
            selector = expr[start : tokens[i - 1].start + len(tokens[i - 1].text)]
            ranged = i < len(tokens) and tokens[i].text == "["
            if ranged:
                i = _skip_brackets(tokens, i, expr)
            enclosing = tuple(f for f in reversed(calls) if f)
            refs.append(MetricRef(token.text, tuple(labels), enclosing, ranged, selector))
            continue
        if token.text == "{":  # a selector without a name outside the braces
            start = token.start
            labels, name, i = _matcher_labels(tokens, i, expr)
            selector = expr[start : tokens[i - 1].start + 1]
            ranged = i < len(tokens) and tokens[i].text == "["
            if ranged:
                i = _skip_brackets(tokens, i, expr)
            if name is None:
                raise PromQLSyntaxError(f"a selector without a metric name in {expr!r}")
            refs.append(MetricRef(name, tuple(labels), tuple(f for f in reversed(calls) if f), ranged, selector))
            continue
        if token.text == "[":  # a subquery's range
            i = _skip_brackets(tokens, i, expr)
            continue
        if token.text == "(":
            calls.append(pending_call or "")
            pending_call = None
        elif token.text == ")":
            if not calls:
                raise PromQLSyntaxError(f"unbalanced ')' in {expr!r}")
            calls.pop()
        elif token.text in {"}", "]"}:
            raise PromQLSyntaxError(f"unbalanced {token.text!r} in {expr!r}")
        i += 1
    if calls:
        raise PromQLSyntaxError(f"unclosed '(' in {expr!r}")
    return refs


_LABEL_VALUES = re.compile(
    r"^\s*label_values\s*\((?:(?P<expr>.*),)?\s*(?P<label>[A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$", re.S
)
_QUERY_RESULT = re.compile(r"^\s*query_result\s*\((?P<expr>.*)\)\s*$", re.S)


def variable_query_refs(query: str) -> list[MetricRef]:
    """The selectors of a Grafana Prometheus variable query: ``label_values(metric{...}, label)``
    (the label counts as one the metric must carry), ``query_result(expr)``, or ``metrics(regex)``."""
    match = _LABEL_VALUES.match(query)
    if match is not None:
        if match.group("expr") is None:
            return []  # label_values(label): any series
        refs = metric_refs(match.group("expr"))
        label = match.group("label")
        return [MetricRef(r.name, (*r.labels, label), r.functions, r.ranged, r.selector) for r in refs]
    match = _QUERY_RESULT.match(query)
    if match is not None:
        return metric_refs(match.group("expr"))
    if re.match(r"^\s*(label_names|metrics)\s*\(", query):
        return []
    return metric_refs(query)


# The series names each family type is stored under, as Prometheus ingests the text format.
SUFFIXES: Mapping[str, tuple[str, ...]] = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("", "_sum", "_count"),
    "gauge": ("",),
    "info": ("_info",),
    "stateset": ("",),
    "unknown": ("",),
}


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    type: str
    labels: frozenset[str]


def series_index(families: Iterable[Family]) -> dict[str, tuple[Family, str]]:
    """Each queryable series name, mapped to its family and the suffix it carries."""
    index: dict[str, tuple[Family, str]] = {}
    for family in families:
        for suffix in SUFFIXES.get(family.type, ("",)):
            index[family.name + suffix] = (family, suffix)
    return index


# Labels a scrape or the multi-process front adds, and a histogram's bucket bound.
ADDED_LABELS = frozenset({"instance", "job", "worker", "__name__"})


def problems(
    ref: MetricRef, index: Mapping[str, tuple[Family, str]], *, heatmap: bool = False, types: bool = True
) -> list[str]:
    """What is wrong with one selector against the exported families: a name no family exports, a
    label the family lacks, or (``types``) a function that does not fit its type: rate() on a
    counter, a histogram's buckets under histogram_quantile (or in a heatmap), never rate() on a
    gauge.  A variable query (``label_values``) reads series, not values: ``types=False``."""
    found = index.get(ref.name)
    if found is None:
        return [f"{ref.name} is not exported"]
    family, suffix = found
    errors: list[str] = []
    known = family.labels | ADDED_LABELS | ({"le"} if suffix == "_bucket" else set())
    missing = [label for label in ref.labels if label not in known]
    if missing and family.labels:  # an empty family shows no labels: nothing to compare with
        errors.append(f"{ref.name} has no label {', '.join(missing)} (it has {', '.join(sorted(family.labels))})")
    if not types:
        return errors
    innermost = ref.functions[0] if ref.functions else ""
    cumulative = family.type == "counter" or suffix in {"_sum", "_count", "_bucket"}
    if cumulative and (innermost not in RANGE_FUNCTIONS or not ref.ranged):
        errors.append(f"{ref.name} is a {family.type} series: read it through rate(), irate() or increase()")
    if suffix == "_bucket" and not heatmap and "histogram_quantile" not in ref.functions:
        errors.append(f"{ref.name} is a histogram's buckets: read them with histogram_quantile()")
    if family.type == "gauge" and set(ref.functions) & RANGE_FUNCTIONS:
        errors.append(f"{ref.name} is a gauge: rate()/irate()/increase() mean nothing on it")
    return errors
