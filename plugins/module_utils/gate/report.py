"""Write a gate run's report: gate.json (everything), junit.xml (for CI), summary.md (for people), gate.sarif (code scanning).

Files are created 0600 in ``reports/<run-id>/``; nothing in them comes from
connection settings, so no credential can end up in a report.
"""
from __future__ import annotations

import json
import os
import time
from typing import Any, Dict, List, Mapping, Sequence
from xml.sax.saxutils import escape, quoteattr

from ..core.check_registry import GROUP_ORDER, group_rank
from ..core.checks import CheckResult, Waiver, failures, summary_line
from ..core.errors import SchemagateError
from .findings import findings_markdown, is_finding, relative
from .sarif import sarif_document


def write_report(
    directory: str, run: Mapping[str, Any], results: Sequence[CheckResult], waivers: Sequence[Waiver] = ()
) -> Dict[str, str]:
    """Write the three files; return their paths. ``waivers`` are listed whether or not they covered a failure."""
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise SchemagateError(f"Cannot create report directory {directory}: {exc.strerror}; set gate_report_dir.") from None
    ordered = sorted(results, key=lambda r: group_rank(r.group))
    paths = {
        "json": os.path.join(directory, "gate.json"),
        "junit": os.path.join(directory, "junit.xml"),
        "summary": os.path.join(directory, "summary.md"),
        "sarif": os.path.join(directory, "gate.sarif"),
    }
    document = {
        "run": dict(run),
        "passed": not failures(ordered),
        "summary": summary_line(ordered),
        "checks": [r.as_dict() for r in ordered],
        "waivers": [_waiver_dict(w, ordered) for w in waivers],
    }
    _write(paths["json"], json.dumps(document, indent=2, sort_keys=False, default=str) + "\n")
    _write(paths["junit"], junit_xml(run, ordered))
    _write(paths["summary"], summary_markdown(run, ordered, waivers))
    _write(paths["sarif"], json.dumps(sarif_document(run, ordered, run.get("source_root")), indent=2) + "\n")
    return paths


def _waiver_dict(waiver: Waiver, results: Sequence[CheckResult]) -> Dict[str, Any]:
    covered = [r.name for r in results if r.waived and waiver.covers(r)]
    return {"code": waiver.code, "object": waiver.subject, "reason": waiver.reason, "covered": covered}


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def junit_xml(run: Mapping[str, Any], results: Sequence[CheckResult]) -> str:
    groups: Dict[str, List[CheckResult]] = {}
    for result in results:
        groups.setdefault(result.group, []).append(result)
    total_failed = len(failures(results))
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuites name={quoteattr("schemagate gate " + str(run.get("database", "")))} tests="{len(results)}" '
        f'failures="{total_failed}" time="{sum(r.seconds for r in results):.3f}">',
    ]
    for group, members in groups.items():
        lines.append(
            f'  <testsuite name={quoteattr(group)} tests="{len(members)}" failures="{len(failures(members))}" '
            f'time="{sum(r.seconds for r in members):.3f}" timestamp={quoteattr(str(run.get("started_at", "")))}>'
        )
        for result in members:
            attrs = f'classname={quoteattr("gate." + group)} name={quoteattr(result.code + " " + result.name)} time="{result.seconds:.3f}"'
            if is_finding(result):  # CI report viewers link a testcase to file and line
                attrs += f' file={quoteattr(relative(str(result.figures["file"]), run.get("source_root")))} line="{int(result.figures["line"])}"'
            if result.skipped:
                lines.append(f"    <testcase {attrs}><skipped message={quoteattr(result.skipped)}/></testcase>")
            elif not result.blocking:
                out = result.message + (f"\nwarning: {result.warning}" if result.warning else "")
                out += f"\nwaived: {result.waived}" if result.waived else ""
                lines.append(f"    <testcase {attrs}><system-out>{escape(out)}</system-out></testcase>")
            else:
                body = "\n".join(result.details) or result.message
                lines.append(
                    f"    <testcase {attrs}><failure message={quoteattr(result.message)}>{escape(body)}</failure></testcase>"
                )
        lines.append("  </testsuite>")
    lines.append("</testsuites>")
    return "\n".join(lines) + "\n"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _verdict(result: CheckResult) -> str:
    if result.verdict == "FAIL":
        return "FAIL"
    if result.verdict == "warn":
        return "advisory (see warnings)"
    if result.verdict == "waived":
        return "waived (see waivers)"
    if result.verdict == "skipped":
        return "skipped"
    return "ok, see warnings" if result.warning else "ok"


def summary_markdown(run: Mapping[str, Any], results: Sequence[CheckResult], waivers: Sequence[Waiver] = ()) -> str:
    failed = failures(results)
    verdict = "PASSED" if not failed else "FAILED"
    lines = [
        f"# schemagate gate {verdict}: {_cell(run.get('database', ''))}",
        "",
        f"- run: `{run.get('run_id', '')}` at {run.get('started_at', '')}, server {run.get('server', '')}",
        f"- pending migrations rehearsed: {len(run.get('pending', []))}"
        + (f" ({', '.join(run.get('pending', []))})" if run.get("pending") else ""),
        f"- result: {summary_line(results)}",
        f"- gate time: {run.get('seconds', 0):.1f} s",
    ]
    if run.get("rehearsal_mode"):
        mode = str(run.get("rehearsal_mode"))
        lines.append(f"- rehearsed on: {mode} ({_cell(str(run.get('rehearsal_server', '')))})"
                     + ("; production was only read" if mode != "production_server" else ""))
        if mode == "production_server":
            lines.append("- **WARNING: the rehearsal ran on production's own server** (schemagate_rehearsal_mode: "
                         "production_server, sql_log_bin=0)")
    fleet = run.get("fleet") or {}
    if fleet.get("reused"):
        lines.append(f"- verdict reused from {_cell(str(fleet.get('representative', '')))}: same fingerprint and pending "
                     "set (no rehearsal of its own; preflight and lint read this host's production)")
    lines += [
        "",
    ]
    if failed:
        lines += ["## Failures", ""]
        for result in failed:
            lines.append(f"- **{result.code} {result.group} / {_cell(result.name)}**: {_cell(result.message)}")
            lines.extend(f"  - {_cell(d)}" for d in result.details[:20])
        lines.append("")
    lines += ["## Checks", "", "| step | passed | failed |", "|---|---:|---:|"]
    for group in [g for g in GROUP_ORDER if any(r.group == g for r in results)]:
        members = [r for r in results if r.group == group]
        lines.append(f"| {group} | {len(members) - len(failures(members))} | {len(failures(members))} |")
    benchmarks = [r for r in results if r.group == "benchmark" and "p95_ms" in r.figures]
    if benchmarks:
        lines += [
            "",
            "## Benchmarks (server-side, after warm-up)",
            "",
            "| query | threshold | p50 | p95 | p99 | max | index | verdict |",
            "|---|---:|---:|---:|---:|---:|---|---|",
        ]
        for result in benchmarks:
            f = result.figures
            lines.append(
                f"| {_cell(result.name)} | {f['threshold_ms']:g} ms | {f['p50_ms']:.2f} | {f['p95_ms']:.2f} | "
                f"{f['p99_ms']:.2f} | {f['max_ms']:.2f} | {_cell(', '.join(f.get('expected_index', [])))} | "
                f"{_verdict(result)} |"
            )
    skipped = [r for r in results if r.verdict == "skipped"]
    if skipped:
        lines += ["", "## Skipped", ""]
        lines.extend(f"- {r.code} {r.group} / {_cell(r.name)}: {_cell(r.skipped)}" for r in skipped)
    reported = [r for r in results if r.verdict == "warn"]
    warnings = [r for r in results if r.warning and r.verdict != "warn"]
    if reported or warnings:
        lines += ["", "## Warnings", ""]
        lines.extend(f"- {r.code} {r.group} / {_cell(r.name)}: {_cell(r.warning or r.message)}" for r in reported)
        lines.extend(f"- {r.code} {r.group} / {_cell(r.name)}: {_cell(r.warning)}" for r in warnings)
    lines += findings_markdown(results, run.get("source_root"))
    if waivers:
        lines += ["", "## Waivers", "", "| check | object | reason | covered |", "|---|---|---|---|"]
        for waiver in waivers:
            covered = [r.name for r in results if r.waived and waiver.covers(r)]
            lines.append(
                f"| {waiver.code} | {_cell(waiver.subject)} | {_cell(waiver.reason)} | "
                f"{_cell(', '.join(covered)) if covered else 'nothing (stale: remove it)'} |"
            )
    lines += ["", f"_Written {time.strftime('%Y-%m-%d %H:%M:%S %Z')} by schemagate._", ""]
    return "\n".join(lines)
