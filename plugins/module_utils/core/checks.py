"""The result of one gate check, the unit every report is made of.

Every gate step (preflight, clone, seed, migrate, verify, integrity, benchmark,
rollback) returns a list of CheckResult; the report writer turns them into
gate.json, junit.xml (one testcase each) and summary.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Sequence


@dataclass
class CheckResult:
    group: str  # the gate step: preflight, clone, seed, migrate, verify, integrity, benchmark, rollback
    name: str  # unique within its group, readable: "fk callback_requests.callback_requests_branch_id_foreign"
    passed: bool
    message: str = ""  # one line: what was proven, or what is wrong and what to fix
    details: List[str] = field(default_factory=list)  # exact differences, one per line
    figures: Dict[str, Any] = field(default_factory=dict)  # measurements: ms, rows, p95...
    seconds: float = 0.0
    warning: str = ""  # passed, but a reviewer should know (e.g. a unique key NULLs can bypass)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "group": self.group,
            "name": self.name,
            "passed": self.passed,
            "message": self.message,
            "details": list(self.details),
            "figures": dict(self.figures),
            "seconds": round(self.seconds, 4),
            "warning": self.warning,
        }

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "CheckResult":
        return cls(
            group=str(data["group"]),
            name=str(data["name"]),
            passed=bool(data["passed"]),
            message=str(data.get("message", "")),
            details=[str(d) for d in data.get("details", [])],
            figures=dict(data.get("figures", {})),
            seconds=float(data.get("seconds", 0.0)),
            warning=str(data.get("warning", "")),
        )


def failures(results: Sequence[CheckResult]) -> List[CheckResult]:
    return [r for r in results if not r.passed]


def summary_line(results: Sequence[CheckResult]) -> str:
    failed = failures(results)
    if not failed:
        return f"{len(results)} checks passed"
    first = failed[0]
    return f"{len(failed)} of {len(results)} checks failed; first: {first.group} {first.name}: {first.message}"
