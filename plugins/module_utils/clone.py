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
from typing import Any, Dict, List, Optional, Sequence

from .connection import MySQLError, error_text, quote_identifier, validate_identifier
from .dialect import ServerInfo
from .errors import SchemagateError

MARKER_TABLE = "schemagate_scratch"
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


def scratch_name(source: str, purpose: str, run_id: str) -> str:
    """``<source>_sg_<purpose>_<run_id>``: where the deploy account has rights, never the source itself."""
    validate_identifier(source, "database name")
    name = f"{source}_sg_{purpose}_{run_id}"
    validate_identifier(name, "scratch database name (source name too long? set scratch_database)")
    return name


def check_scratch_target(source: str, target: str) -> None:
    validate_identifier(source, "database name")
    validate_identifier(target, "scratch database name")
    if target.lower() == source.lower():
        raise SchemagateError(
            f"Scratch database {target!r} is the production database itself: choose another scratch name."
        )


def _exists(cur: Any, name: str) -> bool:
    cur.execute("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,))
    return cur.fetchone() is not None


def _marker_run(cur: Any, name: str) -> Optional[str]:
    cur.execute(
        "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s", (name, MARKER_TABLE)
    )
    if cur.fetchone() is None:
        return None
    cur.execute(f"SELECT run_id FROM {quote_identifier(name)}.{MARKER_TABLE} LIMIT 1")
    row = cur.fetchone()
    return str(row[0]) if row else None


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


def drop_scratch(conn: Any, source: str, target: str, run_id: str) -> bool:
    """Drop ``target`` only if it is a scratch database of this run; False if it was already gone."""
    check_scratch_target(source, target)
    with conn.cursor() as cur:
        if not _exists(cur, target):
            return False
        marker = _marker_run(cur, target)
        if marker != run_id:
            raise SchemagateError(
                f"Refusing to drop {target!r}: it was not created by this schemagate run "
                f"({'no marker table' if marker is None else 'marker of run ' + marker})."
            )
        cur.execute(f"DROP DATABASE {quote_identifier(target)}")
    return True


def require_scratch(conn: Any, database: str) -> str:
    """The run id of scratch database ``database``; refuses any database schemagate did not clone."""
    validate_identifier(database, "database name")
    with conn.cursor() as cur:
        if not _exists(cur, database):
            raise SchemagateError(f"Unknown database {database!r}: clone production first (schemagate.mysql.clone).")
        run_id = _marker_run(cur, database)
    if run_id is None:
        raise SchemagateError(
            f"Refusing to write to {database!r}: it is not a scratch database made by schemagate.mysql.clone "
            "(no schemagate_scratch marker). The gate never writes to production."
        )
    return run_id


def create_scratch(conn: Any, source: str, target: str, run_id: str) -> None:
    """Create an empty scratch database ``target`` with ``source``'s character set and this run's marker.

    For callers that fill the database themselves (the backup verification restores a dump into it);
    the marker lets ``drop_scratch`` drop it later, and nothing else.
    """
    check_scratch_target(source, target)
    with conn.cursor() as cur:
        if not _exists(cur, source):
            raise SchemagateError(f"Unknown database {source!r}: check schemagate_database.")
        if _exists(cur, target):
            raise SchemagateError(
                f"Scratch database {target!r} already exists: drop it (if schemagate left it) or choose another run id."
            )
        cur.execute(
            "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
            (source,),
        )
        charset, collation = cur.fetchone()
        dst = quote_identifier(target)
        try:
            cur.execute(f"CREATE DATABASE {dst} CHARACTER SET {charset} COLLATE {collation}")
            cur.execute(
                f"CREATE TABLE {dst}.{MARKER_TABLE} (run_id VARCHAR(64) NOT NULL PRIMARY KEY, source VARCHAR(64) NOT NULL, "
                "created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB"
            )
            cur.execute(f"INSERT INTO {dst}.{MARKER_TABLE} (run_id, source) VALUES (%s, %s)", (run_id, source))
        except MySQLError as exc:
            raise SchemagateError(f"Creating scratch database {target!r} failed: {error_text(exc)}") from None
