"""How a deploy ended, and its record: reports/deploys/<database>-<run id>.json (0600).

Decided here from what the deploy's steps returned, so that the outcome a user
reads, the outcome in the report and the outcome the tests check are one
decision, made in one place, whatever step the deploy stopped at.
"""
from __future__ import annotations

import json
import os
from enum import Enum
from typing import Any, Dict, List, Mapping, Optional

from ..core.errors import SchemagateError


class Outcome(Enum):
    DEPLOYED = "deployed"
    NOT_STARTED = "not started: the deploy lock was not taken"
    ABORTED = "aborted before any migration; production verified unchanged"
    ROLLED_BACK = "rolled back; production verified against its pre-deploy schema"
    UNVERIFIED = "FAILED; production could not be verified: run playbooks/migrate.yml -e migrate_command=status"
    # An interrupt (SIGINT, SIGTERM, SIGHUP, a lost controller): the report says which of the two production is.
    INTERRUPTED_UNTOUCHED = "interrupted before any migration; production untouched (verified unchanged)"
    INTERRUPTED_NOT_STARTED = "interrupted before the deploy lock was taken; production untouched"
    INTERRUPTED_ROLLED_BACK = "interrupted; production rolled back to its pre-deploy schema (verified)"


def decide(failure: str, smoke: Mapping[str, Any], unchanged: Mapping[str, Any], rollback_verify: Mapping[str, Any],
           interrupted: str = "", migrate: Optional[Mapping[str, Any]] = None, locked: bool = True) -> Outcome:
    """The outcome from the failure (empty when nothing failed) and what the smoke test, the
    unchanged-production check and the rollback verification returned (empty when they did not run).

    ``interrupted`` names the signal (or "lost controller") when the deploy was asked to stop; ``migrate``
    is the migrate step's result (its ``undone`` lists what the runner itself undid on the interrupt);
    ``locked`` says whether the deploy lock was taken."""
    migrate = migrate or {}
    interrupted = interrupted or str(migrate.get("interrupted") or "")
    if interrupted and not (not failure and smoke.get("passed")):
        if not locked and not unchanged and not rollback_verify:
            return Outcome.INTERRUPTED_NOT_STARTED
        if rollback_verify.get("passed") or (unchanged.get("passed") and migrate.get("undone")):
            return Outcome.INTERRUPTED_ROLLED_BACK
        if unchanged.get("passed"):
            return Outcome.INTERRUPTED_UNTOUCHED
        return Outcome.UNVERIFIED
    if not failure:
        return Outcome.DEPLOYED if smoke.get("passed") else Outcome.NOT_STARTED
    if unchanged.get("passed"):
        return Outcome.ABORTED
    if rollback_verify.get("passed"):
        return Outcome.ROLLED_BACK
    return Outcome.UNVERIFIED


def undone_summary(result: Mapping[str, Any]) -> str:
    """What an emergency rollback undid: the migrations it ran down, or the backup it restored."""
    names = [run["migration"] for run in result.get("migrations") or []]
    if names:
        return ", ".join(names)
    return f"restored {result['restored']}" if result.get("restored") else "nothing"


def build_report(facts: Mapping[str, Any], outcome: Outcome, seconds: float) -> Dict[str, Any]:
    """The report document; every part is optional because a deploy can stop anywhere."""
    backup = facts.get("backup") or {}
    manifest = backup.get("manifest") or {}
    verification = manifest.get("verification") or {}
    gate = facts.get("gate") or {}
    rollback_verify = facts.get("rollback_verify") or {}
    rollback_result = facts.get("rollback_result") or {}
    smoke = facts.get("smoke") or {}
    migrations = _durations(facts.get("migrate"))
    rehearsal = facts.get("rehearsal") or {}
    restored = backup.get("restored") or {}
    return {
        "database": facts["database"],
        "host": facts.get("host"),
        "run_id": facts["run_id"],
        "started_at": facts.get("started_at"),
        "seconds": round(seconds, 1),
        "outcome": outcome.value,
        "failure": facts.get("failure") or None,
        "interrupted": facts.get("interrupted") or (facts.get("migrate") or {}).get("interrupted") or None,
        "undone_by_runner": list((facts.get("migrate") or {}).get("undone") or []),
        "gate": {
            "skipped": bool(gate.get("skipped")),
            "passed": gate.get("passed"),
            "summary": gate.get("summary"),
            "report": (gate.get("paths") or {}).get("summary"),
        },
        "fingerprint_before": facts.get("fingerprint_before"),
        "pending_before": list(facts.get("pending_before") or []),
        "backup": None if not backup or backup.get("skipped") else {
            "file": backup.get("backup_file"),
            "manifest": backup.get("manifest_file"),
            "verified": bool(backup.get("verified")),
            "size_bytes": manifest.get("size_bytes"),
            "total_rows": manifest.get("total_rows"),
            "sha256": manifest.get("sha256"),
            "dump_seconds": manifest.get("seconds"),
            "restore_seconds": verification.get("restore_seconds"),
            "compare_seconds": verification.get("compare_seconds"),
            "verified_on": verification.get("server"),
            "backup_and_verify_seconds": restored.get("seconds"),
        },
        # The pending migrations rehearsed on the restored backup (production's rows, on the rehearsal server).
        "rehearsal_on_restored": None if not rehearsal or rehearsal.get("skipped") else {
            "database": restored.get("database"),
            "server": verification.get("server"),
            # Registered with failed_when: false, a failed run is told by its missing migrations.
            "passed": _rehearsal_passed(rehearsal),
            "failure": None if _rehearsal_passed(rehearsal) else rehearsal.get("msg") or "failed",
            "migrations": _durations(rehearsal),
        },
        "migrations": migrations,
        "smoke_test": None if not smoke else {"passed": smoke.get("passed"), "summary": smoke.get("summary")},
        "emergency_rollback": None if not rollback_verify else {
            "verified": rollback_verify.get("passed"),
            "summary": rollback_verify.get("summary"),
            "undone": [run["migration"] for run in rollback_result.get("migrations") or []],
            "restored": rollback_result.get("restored"),
        },
    }


def _rehearsal_passed(rehearsal: Mapping[str, Any]) -> bool:
    return rehearsal.get("migrations") is not None and not rehearsal.get("failed")


def _durations(migrate: Optional[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """Each migration a migrate step ran, with its batch and duration."""
    return [
        {"migration": run["migration"], "batch": run.get("batch"), "duration_ms": run.get("duration_ms")}
        for run in (migrate or {}).get("migrations") or []
    ]


def write_report(state_dir: str, document: Mapping[str, Any]) -> str:
    """Write the report 0600 (atomically: a reader never sees half a report); return its path."""
    path = os.path.join(state_dir, f"{document['database']}-{document['run_id']}.json")
    partial = path + ".partial"
    try:
        os.makedirs(state_dir, mode=0o700, exist_ok=True)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
        os.replace(partial, path)
    except OSError as exc:
        raise SchemagateError(
            f"Cannot write the deploy report in {state_dir}: {exc.strerror or exc}; fix the directory or set schemagate_state_dir."
        ) from None
    return path
