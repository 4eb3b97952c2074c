"""The result of one check, the unit every report is made of.

Every gate step (preflight, rehearsal copy, seed, migrate, verify, integrity,
benchmark, rollback), the smoke test and the rollback verification return a
list of CheckResult. Each names a registered check by its code
(``check_registry``): the code fixes the check's group, description and default
severity, so reports, waivers and docs all read one table.

Whether a failed check blocks is decided here, once: a failure blocks unless
its severity is ``warn``/``info`` or a waiver (code + object + reason) covers it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

from .check_registry import Severity, definition
from .errors import SchemagateError


@dataclass
class CheckResult:
    code: str  # a code of check_registry.CHECKS: "SV103"
    name: str  # unique within its group, readable: "fk callback_requests.company_id"
    passed: bool
    message: str = ""  # one line: what was proven, or what is wrong and what to fix
    details: List[str] = field(default_factory=list)  # exact differences, one per line
    figures: Dict[str, Any] = field(default_factory=dict)  # measurements: ms, rows, p95...
    seconds: float = 0.0
    warning: str = ""  # passed, but a reviewer should know (e.g. a unique key NULLs can bypass)
    subject: str = ""  # the object checked (table, table.column, migration): what a waiver names
    severity: Optional[Severity] = None  # overrides the registered default (e.g. an advisory benchmark)
    waived: str = ""  # the reason of the waiver that covers this failure
    skipped: str = ""  # why the check did not run (nothing to check against): reported, never a pass nor a failure

    def __post_init__(self) -> None:
        definition(self.code)  # an unregistered code is a programming error, caught by the unit tests

    @property
    def group(self) -> str:
        return definition(self.code).group

    @property
    def effective_severity(self) -> Severity:
        return self.severity or definition(self.code).severity

    @property
    def blocking(self) -> bool:
        """A failure that stops the gate or the deploy."""
        return not self.passed and not self.waived and not self.skipped and self.effective_severity is Severity.BLOCK

    @property
    def verdict(self) -> str:
        """pass, FAIL, waived, skipped, or warn (a failure that is reported, not blocking)."""
        if self.skipped:
            return "skipped"
        if self.passed:
            return "pass"
        if self.waived:
            return "waived"
        return "FAIL" if self.blocking else "warn"

    def as_dict(self) -> Dict[str, Any]:
        return {
            "code": self.code,
            "group": self.group,
            "name": self.name,
            "subject": self.subject,
            "passed": self.passed,
            "severity": self.effective_severity.value,
            "verdict": self.verdict,
            "blocking": self.blocking,
            "message": self.message,
            "details": list(self.details),
            "figures": dict(self.figures),
            "seconds": round(self.seconds, 4),
            "warning": self.warning,
            "waived": self.waived,
            "skipped": self.skipped,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CheckResult":
        code = str(data.get("code", ""))
        try:
            definition(code)
        except KeyError:
            raise SchemagateError(f"Check {data.get('name', '?')!r} has no registered code ({code!r}).") from None
        severity = data.get("severity")
        registered = definition(code).severity
        return cls(
            code=code,
            name=str(data["name"]),
            passed=bool(data["passed"]),
            message=str(data.get("message", "")),
            details=[str(d) for d in data.get("details", [])],
            figures=dict(data.get("figures", {})),
            seconds=float(data.get("seconds", 0.0)),
            warning=str(data.get("warning", "")),
            subject=str(data.get("subject", "")),
            severity=None if severity in (None, registered.value) else Severity(severity),
            waived=str(data.get("waived", "")),
            skipped=str(data.get("skipped", "")),
        )


def skipped_check(code: str, name: str, reason: str, subject: str = "*") -> CheckResult:
    """A check that had nothing to check against (no expectations file, no benchmark file): reported as skipped."""
    return CheckResult(code, name, True, f"skipped: {reason}", subject=subject, skipped=reason)


def failures(results: Sequence[CheckResult]) -> List[CheckResult]:
    """The failures that block."""
    return [r for r in results if r.blocking]


def summary_line(results: Sequence[CheckResult]) -> str:
    failed = failures(results)
    waived = sum(1 for r in results if r.verdict == "waived")
    warned = sum(1 for r in results if r.verdict == "warn")
    skipped = sum(1 for r in results if r.verdict == "skipped")
    extra = "".join(
        f", {count} {what}" for count, what in ((warned, "reported as warnings"), (waived, "waived"), (skipped, "skipped"))
        if count
    )
    if not failed:
        return f"{len(results)} checks passed" if not extra else f"{len(results)} checks, none blocking{extra}"
    first = failed[0]
    return f"{len(failed)} of {len(results)} checks failed{extra}; first: {first.code} {first.name}: {first.message}"


@dataclass(frozen=True)
class Waiver:
    """An accepted failure of one check on one object, with the reason a reviewer gave."""

    code: str
    subject: str  # the object, or "*" for every object of that check
    reason: str

    def covers(self, result: CheckResult) -> bool:
        return result.code == self.code and self.subject in ("*", result.subject)


def parse_waivers(entries: Iterable[Mapping[str, Any]], source: str) -> List[Waiver]:
    """Waivers from ``[{code, object, reason}]``; one line naming the entry when one is malformed."""
    waivers = []
    for position, entry in enumerate(entries):
        where = f"{source}: waivers[{position}]"
        if not isinstance(entry, Mapping):
            raise SchemagateError(f"{where}: must be a mapping with code, object and reason.")
        unknown = sorted(set(entry) - {"code", "object", "reason"})
        if unknown:
            raise SchemagateError(f"{where}: unknown key {unknown[0]!r}; use code, object and reason.")
        code, subject, reason = (str(entry.get(key) or "").strip() for key in ("code", "object", "reason"))
        try:
            definition(code)
        except KeyError:
            raise SchemagateError(f"{where}: {code!r} is not a check code; see the README's check list.") from None
        if not subject:
            raise SchemagateError(f"{where}: object is missing; name the table or column it covers, or '*'.")
        if not reason:
            raise SchemagateError(f"{where}: reason is missing; say why this failure is accepted.")
        waivers.append(Waiver(code, subject, reason))
    return waivers


def apply_waivers(results: Sequence[CheckResult], waivers: Sequence[Waiver]) -> List[Waiver]:
    """Mark the failures the waivers cover; return the waivers that covered nothing (stale)."""
    used = set()
    for result in results:
        if result.passed:
            continue
        for waiver in waivers:
            if waiver.covers(result):
                result.waived = waiver.reason
                used.add(waiver)
                break
    return [w for w in waivers if w not in used]
