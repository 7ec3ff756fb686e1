"""The PromQL tokenizer the dashboard test relies on: which identifiers are metrics, and what is
said of each against the exported families."""

from __future__ import annotations

import pytest
from promql_names import (
    Family,
    MetricRef,
    PromQLSyntaxError,
    metric_refs,
    problems,
    series_index,
    variable_query_refs,
)


def names(expr: str) -> list[str]:
    return [ref.name for ref in metric_refs(expr)]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("up", ["up"]),
        ('sum by (status) (rate(smppgw_pdus_sent_total{command="submit_sm_resp"}[5m]))', ["smppgw_pdus_sent_total"]),
        ("sum(rate(a_total[$__rate_interval])) by (carrier) / ignoring(x) group_left b", ["a_total", "b"]),
        (
            'histogram_quantile(0.99, sum without (instance) (rate(lat_bucket{job=~"$job"}[5m])))',
            ["lat_bucket"],
        ),
        ('{__name__="by_name", account="on"}', ["by_name"]),
        ('count_values("value", g) or on() vector(0)', ["g"]),
        ("max_over_time(rate(c_total[5m])[1h:1m]) offset -5m > bool 3", ["c_total"]),
        ("a and b unless c or d", ["a", "b", "c", "d"]),
        ('label_replace(m, "dst", "$1", "src", "(.*)") @ end()', ["m"]),
        ("topk(5, q) # a comment naming not_a_metric", ["q"]),
        ("1 - ${var} * $other + [[old]] * inf + nan + 0x1F + 1e3 + .5", []),
        ('sum(g{carrier=~"${carrier:regex}"}) by (carrier)', ["g"]),
        ("recorded:rate5m:sum", ["recorded:rate5m:sum"]),
    ],
)
def test_metric_names_are_told_from_everything_else(expr: str, expected: list[str]) -> None:
    assert names(expr) == expected


def test_a_selector_keeps_its_labels_calls_and_range() -> None:
    (ref,) = metric_refs('histogram_quantile(0.5, sum by (le) (rate(x_bucket{a="1", b!~"2"}[5m])))')
    assert ref == MetricRef("x_bucket", ("a", "b"), ("rate", "sum", "histogram_quantile"), ranged=True)
    assert ref.selector == 'x_bucket{a="1", b!~"2"}'
    (plain,) = metric_refs("(g)")
    assert plain == MetricRef("g")
    assert plain.selector == "g"
    (by_name,) = metric_refs('rate({__name__="c_total"}[5m])')
    assert by_name.selector == '{__name__="c_total"}'


@pytest.mark.parametrize(
    "expr",
    ["rat(x[5m])", "sum(x", "x)", 'x{a="1"', "x[5m", "x } y", "sum by (rate(x[5m])) (x)", "x ~ y"],
)
def test_what_it_cannot_read_is_an_error(expr: str) -> None:
    with pytest.raises(PromQLSyntaxError):
        metric_refs(expr)


def test_variable_queries() -> None:
    (ref,) = variable_query_refs('label_values(smppgw_bound_sessions{instance=~"$instance"}, account)')
    assert ref == MetricRef("smppgw_bound_sessions", ("instance", "account"))
    assert variable_query_refs("label_values(instance)") == []
    assert variable_query_refs("metrics(smppgw_.*)") == []
    assert names_of(variable_query_refs("query_result(topk(3, rate(c_total[5m])))")) == ["c_total"]


def names_of(refs: list[MetricRef]) -> list[str]:
    return [ref.name for ref in refs]


FAMILIES = series_index(
    [
        Family("smppgw_pdus_sent", "counter", frozenset({"command", "status"})),
        Family("smppgw_submit_response_seconds", "histogram", frozenset()),
        Family("smppgw_carrier_queue_depth", "gauge", frozenset({"carrier"})),
        Family("smppgw_incidents", "counter", frozenset()),  # exported, no sample yet
    ]
)


def check(expr: str, *, heatmap: bool = False) -> list[str]:
    return [p for ref in metric_refs(expr) for p in problems(ref, FAMILIES, heatmap=heatmap)]


def test_correct_queries_pass() -> None:
    assert check('sum by (status) (rate(smppgw_pdus_sent_total{command="submit_sm_resp"}[5m]))') == []
    assert check("histogram_quantile(0.95, sum by (le) (rate(smppgw_submit_response_seconds_bucket[5m])))") == []
    assert check("rate(smppgw_submit_response_seconds_sum[5m]) / rate(smppgw_submit_response_seconds_count[5m])") == []
    assert check("sum by (le) (increase(smppgw_submit_response_seconds_bucket[1m]))", heatmap=True) == []
    assert check('max by (carrier) (smppgw_carrier_queue_depth{carrier=~"$carrier", instance="a"})') == []
    assert check('sum(increase(smppgw_incidents_total{category="x"}[1h]))') == []


def test_each_mistake_is_named() -> None:
    assert check("smppgw_pdus_sent") == ["smppgw_pdus_sent is not exported"]  # a counter is stored as _total
    assert check("rate(smppgw_queue_depth[5m])") == ["smppgw_queue_depth is not exported"]
    assert check('smppgw_carrier_queue_depth{account="demo"}') == [
        "smppgw_carrier_queue_depth has no label account (it has carrier)"
    ]
    assert check("sum(smppgw_pdus_sent_total)") == [
        "smppgw_pdus_sent_total is a counter series: read it through rate(), irate() or increase()"
    ]
    assert check("rate(smppgw_submit_response_seconds_bucket[5m])") == [
        "smppgw_submit_response_seconds_bucket is a histogram's buckets: read them with histogram_quantile()"
    ]
    assert check("histogram_quantile(0.9, smppgw_submit_response_seconds_bucket)") == [
        "smppgw_submit_response_seconds_bucket is a histogram series: read it through rate(), irate() or increase()"
    ]
    assert check("rate(smppgw_carrier_queue_depth[5m])") == [
        "smppgw_carrier_queue_depth is a gauge: rate()/irate()/increase() mean nothing on it"
    ]


def test_a_variable_query_is_checked_for_names_and_labels_only() -> None:
    (ref,) = variable_query_refs("label_values(smppgw_pdus_sent_total, status)")
    assert problems(ref, FAMILIES, types=False) == []
    (wrong,) = variable_query_refs("label_values(smppgw_pdus_sent_total, account)")
    assert problems(wrong, FAMILIES, types=False) == [
        "smppgw_pdus_sent_total has no label account (it has command, status)"
    ]
