"""SARIF 2.1.0 for code-scanning UIs: every failed check, with the file and line of its statement.

One run, one tool (``schemagate``); its rules are the registered checks that have
a result (id = the code, name = the title, the default severity as the level).
A finding's location is its migration file, relative to ``source_root`` when it
lies below it, and the line of its statement. Allowed findings (``-- schemagate:allow``)
carry an ``inSource`` suppression with the reason, waived ones an ``external``
suppression; passed checks are not results.
"""
from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ..core.check_registry import CHECKS, Severity
from ..core.checks import CheckResult
from .findings import ALLOWED_PREFIX, is_finding

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://example.invalid/schemagate/mysql#checks-and-their-codes"  # galaxy.yml's repository
_LEVELS = {Severity.BLOCK: "error", Severity.WARN: "warning", Severity.INFO: "note"}


def sarif_document(run: Mapping[str, Any], results: Sequence[CheckResult], source_root: Optional[str] = None) -> Dict[str, Any]:
    failed = [r for r in results if not r.passed]
    codes = sorted({r.code for r in failed})
    rules = [_rule(code) for code in codes]
    index = {code: position for position, code in enumerate(codes)}
    root = os.path.abspath(source_root) if source_root else None
    document: Dict[str, Any] = {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "schemagate", "informationUri": INFORMATION_URI, "rules": rules}},
            "automationDetails": {"id": f"schemagate/{run.get('database', '')}/{run.get('run_id', '')}"},
            "results": [_result(r, index[r.code], root) for r in failed],
        }],
    }
    if root:
        document["runs"][0]["originalUriBaseIds"] = {"SRCROOT": {"uri": _directory_uri(root)}}
    return document


def _rule(code: str) -> Dict[str, Any]:
    check = CHECKS[code]
    return {
        "id": code,
        "name": "".join(part.capitalize() for part in _words(check.title)),
        "shortDescription": {"text": check.title},
        "fullDescription": {"text": check.description},
        "defaultConfiguration": {"level": _LEVELS[check.severity]},
        "properties": {"group": check.group},
    }


def _words(text: str) -> List[str]:
    return "".join(ch if ch.isalnum() else " " for ch in text).split()


def _result(result: CheckResult, rule_index: int, root: Optional[str]) -> Dict[str, Any]:
    entry: Dict[str, Any] = {
        "ruleId": result.code,
        "ruleIndex": rule_index,
        "level": _LEVELS[result.effective_severity] if not result.waived else "note",
        "message": {"text": f"{result.code} {result.name}: {result.message}"},
        "properties": {"verdict": result.verdict, "subject": result.subject},
    }
    if is_finding(result):
        path = str(result.figures["file"])
        location: Dict[str, Any] = {"uri": path}
        absolute = os.path.abspath(path)
        if root and (absolute.startswith(root.rstrip(os.sep) + os.sep)):
            location = {"uri": os.path.relpath(absolute, root).replace(os.sep, "/"), "uriBaseId": "SRCROOT"}
        entry["locations"] = [{"physicalLocation": {"artifactLocation": location,
                                                    "region": {"startLine": max(1, int(result.figures["line"]))}}}]
    if result.waived:
        kind = "inSource" if result.waived.startswith(ALLOWED_PREFIX) else "external"
        entry["suppressions"] = [{"kind": kind, "justification": result.waived}]
    return entry


def _directory_uri(path: str) -> str:
    return "file://" + path.rstrip("/") + "/"
