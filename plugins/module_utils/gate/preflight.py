"""Read-only questions to ask production before anything is rehearsed or changed.

Server flavour and version, migration state (pending, edited or partial
migrations), open transactions that a migration's DDL would queue behind, and
whether the account holds the privileges the next steps need.
"""
from __future__ import annotations

import time
from typing import Any, Dict, Iterable, List, Sequence, Set

from ..core.checks import CheckResult
from ..core.connection import MySQLError, error_text
from ..core.dialect import ServerInfo
from ..migrate.migration_files import Migration
from ..migrate.runner import APPLIED, CHECKSUM_CHANGED, MISSING_FILE, MigrationRunner, PARTIAL, RunnerSettings

# What reading production for the gate needs, and what migrating it needs.
GATE_PRIVILEGES = ("SELECT", "SHOW VIEW")
DEPLOY_PRIVILEGES = (
    "SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "INDEX", "REFERENCES",
    "LOCK TABLES", "SHOW VIEW", "TRIGGER",
)
# On the scratch databases (<database>_sg_%) the gate creates, fills and drops.
SCRATCH_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "INDEX", "REFERENCES", "CREATE TEMPORARY TABLES")


def run_preflight(
    conn: Any,
    server: ServerInfo,
    settings: RunnerSettings,
    migrations: Sequence[Migration],
    long_transaction_seconds: int = 60,
    required: Iterable[str] = GATE_PRIVILEGES,
    scratch_database: str = "",
) -> List[CheckResult]:
    results: List[CheckResult] = []
    started = time.monotonic()
    results.append(
        CheckResult("PF101", "server", True, f"{server.label} ({server.version_string})",
                    figures={"flavor": server.flavor, "version": server.version_string}, seconds=time.monotonic() - started)
    )

    started = time.monotonic()
    runner = MigrationRunner(conn, settings, migrations)
    status = runner.status()
    pending = [m.name for m in runner.pending()]
    applied = [s for s in status if s.state in (APPLIED, CHECKSUM_CHANGED)]
    results.append(
        CheckResult("PF102", "pending migrations", True,
                    f"{len(pending)} pending, {len(applied)} applied" + (f": {', '.join(pending)}" if pending else ""),
                    figures={"pending": pending, "applied": len(applied)}, seconds=time.monotonic() - started)
    )
    edited = [s.migration for s in status if s.checksum == "changed"]
    results.append(
        CheckResult("PF103", "applied migrations unchanged", not edited,
                    "checksums of applied migrations match their files" if not edited
                    else f"{len(edited)} applied migration(s) edited since they ran: restore them and write new migrations",
                    details=edited)
    )
    partial = [f"{s.migration}: {s.detail}" for s in status if s.state == PARTIAL]
    missing = [s.migration for s in status if s.state == MISSING_FILE]
    results.append(
        CheckResult("PF104", "no partial migration", not partial,
                    "no migration stopped halfway" if not partial else "a migration stopped halfway on production: roll it back first",
                    details=partial)
    )
    if missing:
        results.append(
            CheckResult("PF105", "applied migrations have files", False,
                        f"{len(missing)} applied migration(s) have no file here: deploy from the same release as production",
                        details=missing)
        )

    results.append(_long_transactions(conn, long_transaction_seconds))
    results.append(_privileges(conn, settings.database, "PF107", "privileges on production", tuple(required)))
    if scratch_database:
        results.append(_privileges(conn, scratch_database, "PF108", "privileges on scratch databases", SCRATCH_PRIVILEGES))
    return results


def _long_transactions(conn: Any, limit: int) -> CheckResult:
    started = time.monotonic()
    name = "no long open transaction"
    if limit <= 0:
        return CheckResult("PF106", name, True, "not checked (long_transaction_seconds: 0)")
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT t.trx_mysql_thread_id, p.USER, p.HOST, TIMESTAMPDIFF(SECOND, t.trx_started, NOW()) "
                "FROM information_schema.INNODB_TRX t LEFT JOIN information_schema.PROCESSLIST p "
                "ON p.ID = t.trx_mysql_thread_id WHERE t.trx_started < NOW() - INTERVAL %s SECOND "
                "AND t.trx_mysql_thread_id <> CONNECTION_ID() ORDER BY t.trx_started",
                (limit,),
            )
            rows = cur.fetchall()
    except MySQLError as exc:
        return CheckResult("PF106", name, False, f"cannot read open transactions ({error_text(exc)}): grant PROCESS")
    details = [f"connection {tid} ({user}@{host}) open for {age} s" for tid, user, host, age in rows]
    return CheckResult(
        "PF106", name, not rows,
        f"no transaction open longer than {limit} s" if not rows
        else f"{len(rows)} transaction(s) open longer than {limit} s: DDL would queue behind them and block the table",
        details, {"limit_seconds": limit}, time.monotonic() - started,
    )


def granted_privileges(conn: Any, database: str) -> Set[str]:
    """Privileges the current account holds on ``database``: global ones plus matching schema grants."""
    with conn.cursor() as cur:
        cur.execute("SELECT CURRENT_USER()")
        user, _sep, host = cur.fetchone()[0].partition("@")
        grantee = f"'{user}'@'{host}'"
        cur.execute("SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = %s", (grantee,))
        held = {row[0] for row in cur.fetchall()}
        # Schema grants may be LIKE patterns (askproai\_db\_sg\_%); the server matches them for us.
        cur.execute(
            "SELECT PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = %s AND %s LIKE TABLE_SCHEMA",
            (grantee, database),
        )
        held.update(row[0] for row in cur.fetchall())
    return held


def _privileges(conn: Any, database: str, code: str, name: str, required: Sequence[str]) -> CheckResult:
    started = time.monotonic()
    held = granted_privileges(conn, database)
    missing = [p for p in required if p not in held]
    figures: Dict[str, Any] = {"required": list(required), "missing": missing}
    return CheckResult(
        code, name, not missing,
        f"all of {', '.join(required)} on {database}" if not missing
        else f"missing on {database}: {', '.join(missing)}; GRANT them to the account",
        missing, figures, time.monotonic() - started,
    )
