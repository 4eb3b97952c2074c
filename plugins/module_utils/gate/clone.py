"""Clone production's schema into a scratch database the gate can break freely.

Only structure travels (tables with their indexes and foreign keys, views,
triggers, routines), plus the rows of the migration bookkeeping tables, so the
clone sits at production's migration state. Production is only read.

A scratch database carries a marker table naming its run; schemagate only ever
drops a database whose marker it wrote, and never one whose name is the source's.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Sequence

from ..core.connection import MySQLError, error_text, quote_identifier
from ..core.dialect import ServerInfo
from ..core.errors import SchemagateError
from ..core.scratch import create_scratch

_AUTO_INCREMENT = re.compile(r"\s+AUTO_INCREMENT=\d+", re.IGNORECASE)
_DEFINER = re.compile(r"\s+DEFINER=`[^`]*`@`[^`]*`", re.IGNORECASE)


@dataclass
class CloneReport:
    source: str
    target: str
    run_id: str
    tables: List[str] = field(default_factory=list)
    views: List[str] = field(default_factory=list)
    triggers: List[str] = field(default_factory=list)
    routines: List[str] = field(default_factory=list)
    copied_rows: Dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> Dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "run_id": self.run_id,
            "tables": self.tables,
            "views": self.views,
            "triggers": self.triggers,
            "routines": self.routines,
            "copied_rows": self.copied_rows,
            "seconds": round(self.seconds, 3),
        }


def clone_schema(
    conn: Any,
    server: ServerInfo,
    source: str,
    target: str,
    run_id: str,
    copy_rows_of: Sequence[str] = ("migrations", "schemagate_migrations"),
) -> CloneReport:
    """Create ``target`` with ``source``'s structure and the rows of its bookkeeping tables."""
    del server  # the SHOW CREATE statements below read the same on MariaDB and MySQL
    started = time.monotonic()
    report = CloneReport(source, target, run_id)
    src, dst = quote_identifier(source), quote_identifier(target)
    create_scratch(conn, source, target, run_id)
    with conn.cursor() as cur:
        try:
            _copy_structure(cur, source, target, report)
            for table in copy_rows_of:
                if table in report.tables:
                    cur.execute(f"INSERT INTO {dst}.{quote_identifier(table)} SELECT * FROM {src}.{quote_identifier(table)}")
                    report.copied_rows[table] = cur.rowcount
        except MySQLError as exc:
            raise SchemagateError(f"Cloning {source!r} into {target!r} failed: {error_text(exc)}") from None
    report.seconds = time.monotonic() - started
    return report


def _copy_structure(cur: Any, source: str, target: str, report: CloneReport) -> None:
    src = quote_identifier(source)
    cur.execute(
        "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME",
        (source,),
    )
    objects = cur.fetchall()
    cur.execute(f"USE {quote_identifier(target)}")
    # Tables reference each other in any order: create them all before checking foreign keys.
    cur.execute("SET SESSION foreign_key_checks = 0")
    try:
        for name, kind in objects:
            if kind != "BASE TABLE":
                continue
            cur.execute(f"SHOW CREATE TABLE {src}.{quote_identifier(name)}")
            ddl = _AUTO_INCREMENT.sub("", cur.fetchone()[1])
            cur.execute(ddl)
            report.tables.append(name)
    finally:
        cur.execute("SET SESSION foreign_key_checks = 1")
    views = [name for name, kind in objects if kind == "VIEW"]
    for _attempt in range(len(views)):  # views may use views: retry until all resolve
        pending = [v for v in views if v not in report.views]
        if not pending:
            break
        for name in pending:
            cur.execute(f"SHOW CREATE VIEW {src}.{quote_identifier(name)}")
            try:
                cur.execute(_DEFINER.sub("", cur.fetchone()[1]))
                report.views.append(name)
            except MySQLError:
                continue
    missing = [v for v in views if v not in report.views]
    if missing:
        raise SchemagateError(f"Could not clone views {', '.join(missing)}: they reference objects outside {source!r}?")
    cur.execute("SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s", (source,))
    for (name,) in cur.fetchall():
        cur.execute(f"SHOW CREATE TRIGGER {src}.{quote_identifier(name)}")
        cur.execute(_DEFINER.sub("", cur.fetchone()[2]))
        report.triggers.append(name)
    cur.execute("SELECT ROUTINE_NAME, ROUTINE_TYPE FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s", (source,))
    for name, kind in cur.fetchall():
        cur.execute(f"SHOW CREATE {kind} {src}.{quote_identifier(name)}")
        body = cur.fetchone()[2]
        if body is None:
            raise SchemagateError(f"Cannot read the body of {kind.lower()} {name}: grant SHOW ROUTINE (or SELECT on mysql.proc).")
        cur.execute(_DEFINER.sub("", body))
        report.routines.append(f"{kind.lower()} {name}")
