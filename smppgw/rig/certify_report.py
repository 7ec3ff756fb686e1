"""A certification run's report (smppgw.rig.certify) as JSON, text and JUnit XML, so that a
partner's CI can run the certification and show each check as a test case."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

from .certify import Outcome, Probe, Verdict

FORMATS = ("text", "json", "junit")


def report_json(probe: Probe, *, run_id: int, peer: str) -> dict[str, Any]:
    counts = {o.value: sum(1 for v in probe.verdicts if v.outcome is o) for o in Outcome}
    return {
        "id": run_id,
        "account": probe.account,
        "peer": peer,
        "bind": probe.bind,
        "state": "done" if probe.done else "running",
        "running": probe.current,
        "passed": probe.done and counts["fail"] == 0,
        "counts": counts,
        "duration": None if probe.finished_at is None else round(probe.finished_at - probe.started, 3),
        "checks": [_verdict_json(v) for v in probe.verdicts],
    }


def _verdict_json(v: Verdict) -> dict[str, Any]:
    return {
        "check": v.check,
        "title": v.title,
        "outcome": v.outcome.value,
        "detail": v.detail,
        "duration": round(v.duration, 3),
        "evidence": [{"at": e.at, "direction": e.direction, "hex": e.hex, "summary": e.summary} for e in v.evidence],
    }


_MARK = {"pass": "PASS", "fail": "FAIL", "not_applicable": "N/A "}


def report_text(report: dict[str, Any]) -> str:
    counts = report["counts"]
    lines = [
        f"certification {report['id']} of account {report['account']} ({report['bind']} from {report['peer']}): "
        + ("PASSED" if report["passed"] else "FAILED" if report["state"] == "done" else "running"),
        f"  {counts['pass']} passed, {counts['fail']} failed, {counts['not_applicable']} not applicable",
        "",
    ]
    for check in report["checks"]:
        lines.append(f"{_MARK[check['outcome']]} {check['check']}: {check['title']}")
        lines.append(f"     {check['detail']}")
        lines.extend(_evidence_lines(check, "       "))
    return "\n".join(lines) + "\n"


def _evidence_lines(check: dict[str, Any], indent: str) -> list[str]:
    arrows = {"out": "->", "in": "<-"}
    lines = []
    for e in check["evidence"]:
        lines.append(f"{indent}{e['at']:8.3f} {arrows[e['direction']]} {e['summary']}")
        lines.append(f"{indent}         {e['hex']}")
    return lines


def report_junit(report: dict[str, Any]) -> str:
    """One testsuite, one testcase per check: a failure carries the detail and the PDUs, a check
    that does not apply is skipped."""
    counts = report["counts"]
    suite = ET.Element(
        "testsuite",
        name=f"smppgw certification {report['account']}",
        tests=str(len(report["checks"])),
        failures=str(counts["fail"]),
        errors="0",
        skipped=str(counts["not_applicable"]),
        time=f"{report['duration'] or 0:.3f}",
    )
    for check in report["checks"]:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"smppgw.certify.{report['account']}",
            name=check["check"],
            time=f"{check['duration']:.3f}",
        )
        proof = "\n".join([check["detail"], *_evidence_lines(check, "")])
        if check["outcome"] == "fail":
            failure = ET.SubElement(case, "failure", message=check["detail"], type="certification")
            failure.text = proof
        elif check["outcome"] == "not_applicable":
            ET.SubElement(case, "skipped", message=check["detail"])
        else:
            ET.SubElement(case, "system-out").text = proof
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def render(report: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        import json  # noqa: PLC0415

        return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    if fmt == "junit":
        return report_junit(report)
    if fmt == "text":
        return report_text(report)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")


__all__ = ["FORMATS", "render", "report_json", "report_junit", "report_text"]
