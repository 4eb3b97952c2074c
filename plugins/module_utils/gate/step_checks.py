"""The gate steps that are not checks themselves (rehearsal copy, seed, migrate) as check results.

Their modules return what they did; the report needs pass/fail lines with codes.
Deciding that here, in Python, keeps the decision where a test and a grep find it
(it used to be a Jinja template in the gate role).
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Sequence

from ..core.checks import CheckResult


def copy_checks(results: Sequence[Mapping[str, Any]]) -> List[CheckResult]:
    """One RH101 per scratch copy; ``results`` are the registered results of the copy task's loop."""
    checks = []
    for item in results:
        copy = item.get("clone") or {}
        target = str(item.get("item") or copy.get("target") or "scratch database")
        purpose = str((item.get("invocation") or {}).get("module_args", {}).get("purpose") or copy.get("purpose") or "")
        if purpose and purpose != "rehearsal":
            target = f"{target} ({purpose})"
        if item.get("failed"):
            checks.append(CheckResult("RH101", f"clone into {target}", False, str(item.get("msg") or "copy failed"), subject=target))
            continue
        tables = copy.get("tables") or []
        seconds = float(copy.get("seconds") or 0)
        checks.append(CheckResult(
            "RH101", f"clone into {target}", True, f"{len(tables)} tables cloned in {seconds} s",
            figures=dict(copy), seconds=seconds, subject=target,
        ))
    return checks


def seed_checks(steps: Sequence[Mapping[str, Any]]) -> List[CheckResult]:
    """SD101 per seeding: ``steps`` are ``{phase, seeded}`` (existing tables before migrating, new tables after)."""
    checks = []
    for step in steps:
        seeded = step.get("seeded")
        if not seeded:
            continue
        which = str(step.get("phase") or "tables")
        refused = dict(seeded.get("refused") or {})
        checks.append(CheckResult(
            "SD101", f"seed {which}", True,
            f"{seeded['total_rows']} rows in {seeded['seconds']} s ({seeded['rows_per_second']} rows/s)",
            figures=dict(seeded), seconds=float(seeded["seconds"]), subject=which,
            warning="generated rows that a foreign key, unique key or CHECK refused were not inserted: "
            + ", ".join(f"{table} {count}" for table, count in sorted(refused.items())) if refused else "",
        ))
    return checks


def migrate_checks(result: Mapping[str, Any]) -> List[CheckResult]:
    """MG101 per migration applied to the rehearsal copy, or one failure naming the migration that broke."""
    if not result:
        return []
    if result.get("migrations") is None:
        name = str(result.get("failed_migration") or "migrate")
        return [CheckResult(
            "MG101", name, False, str(result.get("msg") or "the migrations did not apply"),
            details=[str(d) for d in result.get("created_objects") or []], subject=name,
        )]
    checks = []
    for run in result["migrations"]:
        duration_ms = float(run.get("duration_ms") or 0)
        checks.append(CheckResult(
            "MG101", run["migration"], True,
            f"applied by php artisan in {duration_ms} ms" if result.get("source") == "laravel"
            else f"applied in {duration_ms} ms ({len(run.get('statements') or [])} statements)",
            figures={"duration_ms": duration_ms, "batch": run.get("batch")}, seconds=duration_ms / 1000,
            subject=run["migration"],
        ))
    return checks


def completion_check(error: str) -> List[CheckResult]:
    """GT101 when the gate stopped before finishing: the step and why."""
    if not error:
        return []
    return [CheckResult("GT101", "gate completed", False, f"the gate stopped before finishing: {error}")]


def step_checks(steps: Mapping[str, Any]) -> List[CheckResult]:
    """All of the above from the gate's registered step results (keys: copy, seed, migrate, error)."""
    seed: List[Dict[str, Any]] = list(steps.get("seed") or [])
    return (
        copy_checks(steps.get("copy") or [])
        + seed_checks(seed)
        + migrate_checks(steps.get("migrate") or {})
        + completion_check(str(steps.get("error") or ""))
    )
