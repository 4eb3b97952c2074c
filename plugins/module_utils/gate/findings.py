"""Findings: check results that point at a statement of a migration file (file and line).

The lint, the data probes and the DDL prediction all report this way. A finding
carries ``figures.file`` and ``figures.line`` (what SARIF and the summary print),
and a ``-- schemagate:allow <CODE> <reason>`` annotation on its statement turns
it from blocking into reported: its verdict becomes ``waived`` with the reason
``allowed in <file> line <n>: <reason>``, and ``figures.allowed`` holds the reason.
"""
from __future__ import annotations

import os
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from ..core.annotations import ALLOW, Annotation
from ..core.check_registry import Severity, definition
from ..core.checks import CheckResult
from .statement_walk import Step

ALLOWED_PREFIX = "allowed in "


def finding(
    code: str,
    step: Step,
    subject: str,
    message: str,
    details: Sequence[str] = (),
    severity: Optional[Severity] = None,
    offset: int = 0,
    figures: Optional[Dict[str, Any]] = None,
    passed: bool = False,
) -> CheckResult:
    """A result about ``step``'s statement; ``offset`` is where in the statement the cause is written."""
    line = step.line_of(offset)
    where = {
        "file": step.path,
        "line": line,
        "migration": step.migration.name,
        "statement_index": step.index + 1,
        "statement": step.statement.summary(200),
    }
    where.update(figures or {})
    return CheckResult(code, f"{subject} ({step.migration.name} line {line})", passed, message, list(details), where,
                       subject=subject, severity=severity)


def apply_allow_annotations(results: Iterable[CheckResult], steps: Sequence[Step]) -> Set[Tuple[str, int, str]]:
    """Mark failures their statement's annotations allow; return the (migration, statement index, code) used."""
    by_statement = {(s.migration.name, s.index + 1): s for s in steps}
    used: Set[Tuple[str, int, str]] = set()
    for result in results:
        if result.passed or result.waived:
            continue
        key = (result.figures.get("migration"), result.figures.get("statement_index"))
        step = by_statement.get(key)  # type: ignore[arg-type]
        if step is None:
            continue
        annotation = next((a for a in step.annotations if a.kind == ALLOW and not a.problem and a.code == result.code), None)
        if annotation is None:
            continue
        result.waived = f"{ALLOWED_PREFIX}{relative(step.path)} line {annotation.line}: {annotation.reason}"
        result.figures["allowed"] = annotation.reason
        used.add((step.migration.name, step.index + 1, result.code))
    return used


def annotation_checks(
    steps: Sequence[Step],
    loose: Sequence[Tuple[Any, Annotation]],
    used: Set[Tuple[str, int, str]],
    judged_groups: Sequence[str],
) -> List[CheckResult]:
    """LN103: malformed annotations block; an allow this step could have used but did not is stale (warn).

    ``judged_groups`` are the groups whose findings this run produced: an allow for another group's code is
    judged by the step that runs it (the DDL prediction judges OD/PL allows).
    """
    results: List[CheckResult] = []
    for step in steps:
        for annotation in step.annotations:
            subject = f"{step.migration.name} line {annotation.line}"
            if annotation.problem:
                results.append(_annotation_result(step, annotation, f"{annotation.problem} ({relative(step.path)} line "
                                                                    f"{annotation.line})", Severity.BLOCK))
                continue
            if annotation.kind != ALLOW:
                continue
            try:
                group = definition(annotation.code).group
            except KeyError:
                results.append(_annotation_result(step, annotation, f"'schemagate:allow {annotation.code}': no check has "
                                                                    "that code; see the README's check list", Severity.BLOCK))
                continue
            if group in judged_groups and (step.migration.name, step.index + 1, annotation.code) not in used:
                results.append(_annotation_result(
                    step, annotation, f"'schemagate:allow {annotation.code}' allows nothing: the statement has no "
                                      f"{annotation.code} finding; remove the annotation ({subject})", Severity.WARN))
    for migration, annotation in loose:
        results.append(CheckResult(
            "LN103", f"annotation ({migration.name} line {annotation.line})", False,
            f"annotation at {relative(migration.up_path)} line {annotation.line} belongs to no statement of the up migration",
            figures={"file": migration.up_path, "line": annotation.line, "migration": migration.name},
            subject=migration.name, severity=Severity.WARN,
        ))
    return results


def _annotation_result(step: Step, annotation: Annotation, message: str, severity: Severity) -> CheckResult:
    return CheckResult(
        "LN103", f"annotation ({step.migration.name} line {annotation.line})", False, message,
        figures={"file": step.path, "line": annotation.line, "migration": step.migration.name,
                 "statement_index": step.index + 1},
        subject=step.migration.name, severity=severity,
    )


def relative(path: str, root: Optional[str] = None) -> str:
    """``path`` relative to ``root`` (default: the working directory) when it lies below it."""
    base = os.path.abspath(root or os.getcwd())
    absolute = os.path.abspath(path)
    if absolute == base or absolute.startswith(base.rstrip(os.sep) + os.sep):
        return os.path.relpath(absolute, base)
    return path


def is_finding(result: CheckResult) -> bool:
    """A result that points into a migration file."""
    return "file" in result.figures and "line" in result.figures


def verdict_label(result: CheckResult) -> str:
    if result.passed:
        return "pass"
    if result.waived.startswith(ALLOWED_PREFIX):
        return "allowed"
    return result.verdict


def findings_markdown(results: Sequence[CheckResult], root: Optional[str] = None) -> List[str]:
    """The summary's table of every finding with its code, file:line, verdict and message."""
    rows = [r for r in results if is_finding(r) and (not r.passed or r.code in ("OD101", "OD103"))]
    if not rows:
        return []
    lines = ["", "## Migration findings", "", "| code | where | verdict | finding |", "|---|---|---|---|"]
    for result in rows:
        where = f"{relative(str(result.figures['file']), root)}:{result.figures['line']}"
        text = result.message + (f" ({result.waived})" if result.waived else "")
        lines.append(f"| {result.code} | {_cell(where)} | {verdict_label(result)} | {_cell(text)} |")
    return lines


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
