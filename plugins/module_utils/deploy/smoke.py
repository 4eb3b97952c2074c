"""The production smoke test after a migration, from the seed's deployment checklist.

The expected tables exist, their foreign keys are in place with the expected
rules, a quick query on each works, and production's schema is the one the gate
rehearsed (same fingerprint). Optionally the server's error log is scanned for
errors logged since the deploy started. Only reads.
"""
from __future__ import annotations

import re
import time
from typing import Any, List, Optional, Sequence

from ..core.bookkeeping import DEFAULT_MIGRATIONS_TABLE, bookkeeping_tables
from ..core.catalog import diff_tables, fingerprint, read_schema
from ..core.checks import CheckResult
from ..core.connection import MySQLError, error_text, quote_identifier
from ..core.dialect import ServerInfo
from ..core.expectations import load_expectations

_LOG_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2} [ \d]\d:\d{2}:\d{2})")


def smoke_test(
    conn: Any,
    server: ServerInfo,
    database: str,
    expectations_file: Optional[str] = None,
    expected_fingerprint: Optional[str] = None,
    absent: bool = False,
    migrations_table: str = DEFAULT_MIGRATIONS_TABLE,
) -> List[CheckResult]:
    """Checks after a migration; with ``absent``, after a rollback.

    Production is verified by state: its schema fingerprint must equal ``expected_fingerprint``
    (the rehearsal's after a deploy, the pre-deploy one after a rollback). The expectations file
    is optional: after a deploy it adds the table, foreign-key and quick-query checks of its
    tables (without one, every table answers a quick query); after a rollback, only when no
    fingerprint is known, its tables must be gone.
    """
    expectations = load_expectations(expectations_file) if expectations_file else None
    schema = read_schema(conn, database, server, bookkeeping_tables(migrations_table))
    actual_fingerprint = fingerprint(schema)
    tables = schema.tables
    results: List[CheckResult] = []
    if absent:
        if not expected_fingerprint and expectations is not None:
            expected = sorted(expectations.structure)
            present = [t for t in expected if t in tables]
            results.append(CheckResult(
                "SM105", "rolled-back tables are gone", not present,
                f"none of the {len(expected)} tables remain" if not present else f"{len(present)} of {len(expected)} tables remain",
                [f"table {t} still exists" for t in present],
            ))
        elif not expected_fingerprint:
            results.append(CheckResult(
                "SM104", "schema equals the expected fingerprint", False,
                "no pre-deploy fingerprint was recorded and no expectations file given: production could not be verified",
            ))
    elif expectations is not None:
        expected = sorted(expectations.structure)
        present = [t for t in expected if t in tables]
        missing = [t for t in expected if t not in tables]
        results.append(CheckResult(
            "SM101", "expected tables exist", not missing,
            f"all {len(expected)} tables exist" if not missing else f"{len(missing)} of {len(expected)} tables missing",
            [f"table {t} is missing" for t in missing],
        ))
        fk_lines = [
            line for line in diff_tables({t: expectations.structure[t] for t in present}, {t: tables[t] for t in present})
            if "foreign key" in line
        ]
        fk_count = sum(len(expectations.structure[t].foreign_keys) for t in present)
        results.append(CheckResult(
            "SM102", "foreign keys in place", not fk_lines,
            f"{fk_count} foreign keys with their ON DELETE rules" if not fk_lines else "foreign keys differ from the expectations",
            fk_lines,
        ))
        results.extend(_quick_queries(conn, database, present))
    else:
        results.extend(_quick_queries(conn, database, sorted(tables)))
    if expected_fingerprint:
        matches = actual_fingerprint == expected_fingerprint
        results.append(CheckResult(
            "SM104", "schema equals the expected fingerprint", matches,
            f"fingerprint {actual_fingerprint[:12]} as expected" if matches
            else f"fingerprint {actual_fingerprint[:12]} differs from the expected {expected_fingerprint[:12]}: schema drifted",
            figures={"fingerprint": actual_fingerprint, "expected": expected_fingerprint},
        ))
    return results


def _quick_queries(conn: Any, database: str, tables: Sequence[str]) -> List[CheckResult]:
    results = []
    with conn.cursor() as cur:
        for table in tables:
            started = time.perf_counter()
            try:
                cur.execute(f"SELECT * FROM {quote_identifier(database)}.{quote_identifier(table)} LIMIT 1")
                cur.fetchall()
            except MySQLError as exc:
                results.append(CheckResult("SM103", f"query {table}", False, f"SELECT on {table} failed: {error_text(exc)}", subject=table))
                continue
            ms = (time.perf_counter() - started) * 1000
            results.append(CheckResult("SM103", f"query {table}", True, f"SELECT ... LIMIT 1 in {ms:.1f} ms", figures={"ms": round(ms, 2)}, subject=table))
    return results


def scan_error_log(path: str, since: str) -> CheckResult:
    """Errors the server logged at or after ``since`` ('YYYY-MM-DD HH:MM:SS', server local time)."""
    name = "no server errors since the deploy started"
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.readlines()
    except OSError as exc:
        return CheckResult("SM106", name, True, f"error log not readable ({exc.strerror}); not scanned", warning=f"could not read {path}")
    errors = []
    for line in lines:
        stamp = _LOG_TIME.match(line)
        if stamp and stamp.group(1).replace("  ", " 0") >= since and "[ERROR]" in line:
            errors.append(line.strip())
    return CheckResult(
        "SM106", name, not errors,
        f"no [ERROR] line in {path} since {since}" if not errors else f"{len(errors)} [ERROR] lines in {path} since {since}",
        errors[-20:],
    )
