"""Debris of earlier runs, found and listed by every backup; removed only when asked; retention of old tables.

An interrupted run (SIGKILL, a lost host, a killed server) cannot remove what it was making. The next backup
of the same database finds it:

- scratch databases ``<db>_sg_<purpose>_<run>`` whose schemagate marker names ``<db>`` as their source;
- ``<db>-<label>.sql.gz.partial`` files in the backup directory (a dump that never finished);
- unverified backups (manifest ``verified: false``), kept for inspection until removed on purpose;
- the backup's private temporary directories (``schemagate-backup-*``, 0700, the dump's stderr only).

Only what is older than ``min_age_seconds`` counts (a concurrent run's work in progress is younger), and a
database is only ever dropped through its marker. ``<db>_sg_old_<run>`` databases (the tables a restore
replaced) are not debris: they follow their own retention, ``prune_old_databases``.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from typing import Any, Dict, List, Optional

from ..core.bookkeeping import MARKER_TABLE
from ..core.connection import MySQLError, error_text, quote_identifier, validate_identifier
from ..core.errors import SchemagateError
from ..core.scratch import drop_scratch
from .backup_files import BackupState, list_backups, remove_file

DEBRIS_MIN_AGE_SECONDS = 3600
OLD_KEEP = 2
OLD_MIN_AGE_DAYS = 7
PRIVATE_DIR_PREFIX = "schemagate-backup-"


def _like(name: str) -> str:
    return name.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")


def marked_databases(conn: Any, database: str) -> List[Dict[str, Any]]:
    """``<db>_sg_%`` databases with their marker (run id, source, age in seconds), newest first; unmarked ones too."""
    validate_identifier(database, "database name")
    found = []
    with conn.cursor() as cur:
        cur.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE %s", (_like(database) + "\\_sg\\_%",))
        names = [row[0] for row in cur.fetchall()]
        for name in names:
            entry: Dict[str, Any] = {"database": name, "run_id": None, "source": None, "age_seconds": None}
            cur.execute("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s", (name, MARKER_TABLE))
            if cur.fetchone() is not None:
                try:
                    cur.execute(f"SELECT run_id, source, TIMESTAMPDIFF(SECOND, created_at, NOW()) FROM {quote_identifier(name)}.{MARKER_TABLE} LIMIT 1")
                    row = cur.fetchone()
                except MySQLError:
                    row = None
                if row:
                    entry.update(run_id=str(row[0]), source=str(row[1]), age_seconds=int(row[2]))
            found.append(entry)
    found.sort(key=lambda entry: (entry["age_seconds"] is None, entry["age_seconds"] or 0))
    return found


def _file_age(path: str) -> float:
    try:
        return time.time() - os.lstat(path).st_mtime
    except OSError:
        return 0.0


def find_debris(conn: Any, database: str, backup_dir: Optional[str], min_age_seconds: int = DEBRIS_MIN_AGE_SECONDS,
                temp_dir: Optional[str] = None) -> Dict[str, List[Dict[str, Any]]]:
    """Earlier runs' leftovers of ``database`` (see the module docstring), each with what it is and its age."""
    old_prefix = f"{database}_sg_old_"
    scratch = [
        {"database": entry["database"], "run_id": entry["run_id"], "age_seconds": entry["age_seconds"]}
        for entry in marked_databases(conn, database)
        if not entry["database"].startswith(old_prefix) and entry["source"] == database
        and entry["age_seconds"] is not None and entry["age_seconds"] >= min_age_seconds
    ]
    partial: List[Dict[str, Any]] = []
    unverified: List[Dict[str, Any]] = []
    if backup_dir and os.path.isdir(backup_dir):
        pattern = re.compile(rf"^{re.escape(database)}-[A-Za-z0-9_]{{1,40}}\.sql\.gz\.partial$")
        for name in sorted(os.listdir(backup_dir)):
            path = os.path.join(backup_dir, name)
            if pattern.match(name) and os.path.isfile(path) and _file_age(path) >= min_age_seconds:
                partial.append({"file": path, "age_seconds": int(_file_age(path))})
        for backup in list_backups(backup_dir, database):
            if backup.state is BackupState.UNVERIFIED and _file_age(backup.manifest_file) >= min_age_seconds:
                unverified.append({"manifest_file": backup.manifest_file, "backup_file": backup.backup_file,
                                   "age_seconds": int(_file_age(backup.manifest_file))})
    private: List[Dict[str, Any]] = []
    root = temp_dir or tempfile.gettempdir()
    try:
        names = sorted(os.listdir(root))
    except OSError:
        names = []
    for name in names:
        path = os.path.join(root, name)
        if name.startswith(PRIVATE_DIR_PREFIX) and os.path.isdir(path) and not os.path.islink(path) \
                and os.lstat(path).st_uid == os.getuid() and _file_age(path) >= min_age_seconds:
            private.append({"directory": path, "age_seconds": int(_file_age(path))})
    return {"scratch_databases": scratch, "partial_files": partial, "unverified_backups": unverified, "private_directories": private}


def describe_debris(debris: Dict[str, List[Dict[str, Any]]]) -> List[str]:
    """One line per leftover, for the play's output."""
    lines = [f"scratch database {d['database']} (run {d['run_id']}, {d['age_seconds']} s old)" for d in debris["scratch_databases"]]
    lines += [f"partial backup file {d['file']} ({d['age_seconds']} s old)" for d in debris["partial_files"]]
    lines += [f"unverified backup {d['manifest_file']} ({d['age_seconds']} s old)" for d in debris["unverified_backups"]]
    lines += [f"temporary directory {d['directory']} ({d['age_seconds']} s old)" for d in debris["private_directories"]]
    return lines


def remove_debris(conn: Any, database: str, debris: Dict[str, List[Dict[str, Any]]]) -> List[str]:
    """Remove what ``find_debris`` found (databases through their marker only); the lines of what went."""
    removed = []
    for entry in debris["scratch_databases"]:
        if drop_scratch(conn, database, entry["database"], entry["run_id"]):
            removed.append(f"scratch database {entry['database']}")
    for entry in debris["partial_files"]:
        remove_file(entry["file"])
        removed.append(f"partial backup file {entry['file']}")
    for entry in debris["unverified_backups"]:
        remove_file(entry["backup_file"])
        remove_file(entry["manifest_file"])
        removed.append(f"unverified backup {entry['manifest_file']}")
    for entry in debris["private_directories"]:
        shutil.rmtree(entry["directory"], ignore_errors=True)
        removed.append(f"temporary directory {entry['directory']}")
    return removed


def prune_old_databases(conn: Any, database: str, keep: int = OLD_KEEP, min_age_days: float = OLD_MIN_AGE_DAYS) -> Dict[str, List[str]]:
    """Retention of ``<db>_sg_old_<run>``: the ``keep`` newest always stay; older ones go once ``min_age_days`` old.

    Only databases carrying the marker the restore wrote are dropped; unmarked ones are listed, never touched.
    """
    if keep < 1:
        raise SchemagateError(f"old_keep must be at least 1, got {keep}: the newest replaced tables are always kept.")
    if min_age_days < 0:
        raise SchemagateError(f"old_min_age_days must be 0 or more, got {min_age_days}.")
    prefix = f"{database}_sg_old_"
    kept: List[str] = []
    removed: List[str] = []
    unmarked: List[str] = []
    for entry in marked_databases(conn, database):
        if not entry["database"].startswith(prefix):
            continue
        if entry["run_id"] is None or entry["source"] != database:
            unmarked.append(entry["database"])
        elif len(kept) < keep or entry["age_seconds"] < min_age_days * 86400:
            kept.append(entry["database"])
        else:
            try:
                drop_scratch(conn, database, entry["database"], entry["run_id"])
            except MySQLError as exc:
                raise SchemagateError(f"Dropping {entry['database']!r} (retention) failed: {error_text(exc)}") from None
            removed.append(entry["database"])
    return {"kept": kept, "removed": removed, "unmarked": unmarked}
