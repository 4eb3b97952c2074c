"""The emergency restore: a verified backup replaces production's tables, and nothing is dropped.

``restore_backup`` only accepts a verified backup, restores it into a scratch database, verifies it
again and swaps all tables into production with one atomic ``RENAME TABLE``, moving the previous
tables aside (``<database>_sg_old_<run_id>``) instead of dropping them.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any, Dict, List, Optional, Tuple

from ..core.bookkeeping import LOCK_TABLE, MARKER_TABLE
from ..core.connection import ConnectionParams, MySQLError, connect, error_text, quote_identifier, quote_name
from ..core.dialect import ServerInfo
from ..core.errors import SchemagateError
from ..core.lock_wait import BoundedCursor, BoundedLocks
from ..core.scratch import create_scratch, drop_scratch, scratch_name
from ..core.session import SqlSession
from .backup import base_tables, compare, recorded_schema, restore_and_compare, table_figures
from .backup_files import BackupState, check_backup_file, load_manifest
from .dump_restore import RESTORE_WORKERS, without_definer


# How long the swap of an emergency restore keeps trying to get the metadata locks the application holds:
# attempts of at most 1 s each (writes queue behind an attempt, never longer), 1 s apart (core/lock_wait.py).
SWAP_LOCK_WAIT_SECONDS = 30
# Operational state of the running deploy, not application data: a restore leaves it in production
# (bringing back the lock row of backup time would hand the deploy lock to an old run).
STAYS_IN_PRODUCTION = (LOCK_TABLE,)


def restore_plan(conn: Any, manifest_path: str, database: str, run_id: str) -> Dict[str, Any]:
    """Everything that can refuse a restore, checked before anything is written (also the check-mode answer)."""
    manifest = load_manifest(manifest_path)
    if manifest.database != database:
        raise SchemagateError(
            f"Backup {manifest_path} is a backup of {manifest.database!r}, not of {database!r}: choose a backup of {database!r}."
        )
    if manifest.state is not BackupState.VERIFIED:
        raise SchemagateError(f"Backup {manifest_path} is not verified: verify it first (schemagate.mysql.backup with verify) or use a verified one.")
    dump_path = check_backup_file(manifest_path, manifest)
    scratch = scratch_name(database, "restore", run_id)
    old = scratch_name(database, "old", run_id)
    session = SqlSession(conn)
    for name in (scratch, old):
        if session.database_exists(name):
            raise SchemagateError(f"Database {name!r} already exists: choose another run_id.")
    production_tables = base_tables(conn, database, exclude=STAYS_IN_PRODUCTION)
    return {
        "manifest": manifest,
        "manifest_file": manifest_path,
        "backup_file": dump_path,
        "scratch_database": scratch,
        "old_database": old,
        "production_tables": production_tables,
        "backup_tables": sorted(set(manifest.tables) - set(STAYS_IN_PRODUCTION)),
        "only_in_production": sorted(set(production_tables) - set(manifest.tables)),
    }


def _show_create(cur: Any, kind: str, database: str, name: str) -> Tuple[str, str, str, str]:
    """(statement, sql_mode, character_set_client, collation_connection) of a trigger/view/routine/event."""
    cur.execute(f"SHOW CREATE {kind} {quote_identifier(database)}.{quote_name(name)}")
    values = dict(zip((column[0].lower() for column in cur.description), cur.fetchone()))
    statement = values.get("sql original statement") or values.get(f"create {kind.lower()}")
    return (
        str(statement),
        str(values.get("sql_mode") or ""),  # views have none: they are stored resolved
        str(values.get("character_set_client") or "utf8mb4"),
        str(values.get("collation_connection") or "utf8mb4_general_ci"),
    )


def _run_in(cur: Any, database: str, statement: str, sql_mode: str, charset: str, collation: str) -> None:
    """Run a CREATE TRIGGER/VIEW/... in ``database`` with the session settings it was defined under."""
    cur.execute(f"USE {quote_identifier(database)}")
    cur.execute("SET SESSION sql_mode = %s, character_set_client = %s, collation_connection = %s", (sql_mode, charset, collation))
    cur.execute(without_definer(statement))


def _production_objects(cur: Any, database: str) -> Dict[str, List[Tuple[str, Tuple[str, str, str, str]]]]:
    """The triggers, views, routines and events of ``database`` with their definitions."""
    found: Dict[str, List[Tuple[str, Tuple[str, str, str, str]]]] = {"TRIGGER": [], "VIEW": [], "PROCEDURE": [], "FUNCTION": [], "EVENT": []}
    cur.execute("SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s", (database,))
    names = {"TRIGGER": [row[0] for row in cur.fetchall()]}
    cur.execute("SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s", (database,))
    names["VIEW"] = [row[0] for row in cur.fetchall()]
    cur.execute("SELECT ROUTINE_NAME, ROUTINE_TYPE FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s", (database,))
    for name, kind in cur.fetchall():
        names.setdefault(kind.upper(), []).append(name)
    cur.execute("SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s", (database,))
    names["EVENT"] = [row[0] for row in cur.fetchall()]
    for kind, listed in names.items():
        for name in listed:
            found.setdefault(kind, []).append((name, _show_create(cur, kind, database, name)))
    return found


def restore_backup(
    params: ConnectionParams,
    conn: Any,
    server: ServerInfo,
    manifest_path: str,
    database: str,
    run_id: str,
    workers: int = RESTORE_WORKERS,
    lock_budget_seconds: float = SWAP_LOCK_WAIT_SECONDS,
) -> Dict[str, Any]:
    """Replace ``database``'s tables with a verified backup; nothing is dropped.

    1. Refuse an unverified backup, a backup of another database or a file whose sha256 is wrong.
    2. Restore into ``<database>_sg_restore_<run_id>`` and verify it against the manifest.
    3. Drop the triggers of production and of the restored tables (MySQL cannot move a table with
       triggers to another database), keeping production's definitions.
    4. One atomic ``RENAME TABLE`` moves every production table to ``<database>_sg_old_<run_id>`` and
       every restored table into production. Tables that only production has move too. The deploy
       lock table stays: it is the running deploy's state, not data of the backup.
    5. Replay the dump's view, trigger, routine and event statements in production (DROP ... IF EXISTS
       then CREATE, with the dump's session settings and without DEFINER). Views, routines and events
       production had but the backup has not are dropped; their CREATE statements are returned in
       ``removed_objects``. Production's previous triggers are recreated on the moved tables in the old
       database, so it stays complete.
    6. Drop the (now empty) scratch database and compare production with the manifest.

    Run it with the application stopped: between steps 3 and 5 production has no triggers.
    """
    plan = restore_plan(conn, manifest_path, database, run_id)
    manifest, scratch, old = plan["manifest"], plan["scratch_database"], plan["old_database"]
    started = time.monotonic()
    create_scratch(conn, database, scratch, run_id)
    try:
        restored, mismatches = restore_and_compare(params, conn, server, manifest, plan["backup_file"], scratch, workers)
        if mismatches:
            raise SchemagateError(
                f"The backup restored into {scratch!r} differs from its manifest ({mismatches[0]}); production was not touched.",
                {"mismatches": mismatches},
            )
        result = _swap(params, database, scratch, old, restored["objects"], lock_budget_seconds)
    finally:
        drop_scratch(conn, database, scratch, run_id)  # after the swap it holds only the marker (and the dump's views/routines)
    after_tables = base_tables(conn, database, exclude=STAYS_IN_PRODUCTION)
    restored_part = dataclasses.replace(manifest, tables={name: value for name, value in manifest.tables.items() if name not in STAYS_IN_PRODUCTION})
    differences = compare(restored_part, table_figures(conn, database, after_tables), recorded_schema(conn, database, server), server)
    outcome = {
        "changed": True,
        "manifest_file": manifest_path,
        "database": database,
        "old_database": old,
        "restore_seconds": restored["seconds"],
        "seconds": round(time.monotonic() - started, 3),
        "only_in_production": plan["only_in_production"],
        **result,
        "differences_after_restore": differences,
    }
    outcome["restored"] = (
        f"{manifest_path} ({len(outcome.get('swapped_tables', []))} tables swapped in; "
        f"production's previous tables kept in {old})"
    )
    if differences:
        raise SchemagateError(
            f"Production was restored from {manifest_path} (previous tables in {old!r}) but now differs from the backup: "
            f"{differences[0]} (did the application write during the restore?)",
            {"differences": differences, "old_database": old},
        )
    return outcome


def _swap(params: ConnectionParams, database: str, scratch: str, old: str, objects: List[Tuple[str, Optional[str], str]],
          lock_budget_seconds: float = SWAP_LOCK_WAIT_SECONDS) -> Dict[str, Any]:
    # Its own connection: the replayed SET statements and USE must not leak into the caller's session.
    conn = connect(params, database)
    try:
        return _swap_on(conn, database, scratch, old, objects, lock_budget_seconds)
    finally:
        conn.close()


def _swap_on(conn: Any, database: str, scratch: str, old: str, objects: List[Tuple[str, Optional[str], str]],
             lock_budget_seconds: float = SWAP_LOCK_WAIT_SECONDS) -> Dict[str, Any]:
    prod, new, aside = quote_identifier(database), quote_identifier(scratch), quote_identifier(old)
    production_tables = base_tables(conn, database, exclude=STAYS_IN_PRODUCTION)
    restored_tables = base_tables(conn, scratch, exclude=(MARKER_TABLE, *STAYS_IN_PRODUCTION))
    locks = BoundedLocks(conn, lock_budget_seconds)  # no statement here holds up production's writes longer than 1 s
    with conn.cursor() as raw_cur:
        cur = BoundedCursor(raw_cur, locks)
        before = _production_objects(cur, database)
        cur.execute("SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s", (scratch,))
        scratch_triggers = [row[0] for row in cur.fetchall()]
        # With the marker of this run, so its retention (cleanup.prune_old_databases) may drop it one day, and nothing else.
        create_scratch(conn, database, old, old[len(f"{database}_sg_old_"):])
        for name in scratch_triggers:
            cur.execute(f"DROP TRIGGER {new}.{quote_name(name)}")
        dropped: List[Tuple[str, Tuple[str, str, str, str]]] = []
        moves = [f"{prod}.{quote_name(t)} TO {aside}.{quote_name(t)}" for t in production_tables]
        moves += [f"{new}.{quote_name(t)} TO {prod}.{quote_name(t)}" for t in restored_tables]
        try:
            for name, definition in before["TRIGGER"]:
                cur.execute(f"DROP TRIGGER {prod}.{quote_name(name)}")
                dropped.append((name, definition))
            locks.execute(raw_cur, "RENAME TABLE " + ", ".join(moves), what=f"The swap (one RENAME TABLE) into {database!r}")
        except (MySQLError, SchemagateError) as exc:
            for name, definition in dropped:  # production is unchanged: give it its triggers back
                _run_in(cur, database, *definition)
            cur.execute(f"DROP DATABASE {aside}")  # still empty: the rename did nothing
            cause = exc.message if isinstance(exc, SchemagateError) else error_text(exc)
            raise SchemagateError(
                f"Swapping the restored tables into {database!r} failed: {cause}; production is unchanged. "
                "End that session (or stop the application) and retry.",
                {"lock_waits": locks.waits},
            ) from None
        recreated = _replay_objects(cur, database, objects)
        removed = _remove_extra_objects(cur, database, before, recreated)
        old_triggers = []
        for name, definition in before["TRIGGER"]:
            try:
                _run_in(cur, old, *definition)
                old_triggers.append(name)
            except MySQLError:
                continue  # its definition is returned below; the tables are what matters
        cur.execute(f"USE {prod}")
        _check_foreign_keys_stay_home(cur, database)
    return {
        "swapped_tables": restored_tables,
        "moved_to_old": production_tables,
        "recreated_objects": recreated,
        "removed_objects": removed,
        "previous_triggers": {name: definition[0] for name, definition in before["TRIGGER"]},
        "previous_triggers_on_old_tables": old_triggers,
        "lock_waits": locks.waits,
    }


def _replay_objects(cur: Any, database: str, objects: List[Tuple[str, Optional[str], str]]) -> List[str]:
    """Run the dump's view/trigger/routine/event statements (with their SET context) in ``database``."""
    cur.execute(f"USE {quote_identifier(database)}")
    recreated = []
    for kind, name, statement in objects:  # a dump of this very database: its ALTER DATABASE lines already name it
        if kind == "trigger":
            cur.execute(f"DROP TRIGGER IF EXISTS {quote_name(name or '')}")
        if kind in ("view", "trigger", "routine", "event"):
            statement = without_definer(statement)
            if f"{kind} {name}" not in recreated:  # a view comes twice: its stand-in, then its definition
                recreated.append(f"{kind} {name}")
        try:
            cur.execute(statement)
        except MySQLError as exc:
            raise SchemagateError(
                f"The tables of {database!r} were restored, but recreating {kind} {name or ''} failed: {error_text(exc)}; "
                "create it by hand from the dump."
            ) from None
    return recreated


def _remove_extra_objects(
    cur: Any, database: str, before: Dict[str, List[Tuple[str, Tuple[str, str, str, str]]]], recreated: List[str]
) -> Dict[str, str]:
    """Drop views, routines and events the backup does not have; return their definitions."""
    from_backup = set(recreated)
    removed: Dict[str, str] = {}
    for kind, label in (("VIEW", "view"), ("PROCEDURE", "routine"), ("FUNCTION", "routine"), ("EVENT", "event")):
        for name, definition in before.get(kind, []):
            if f"{label} {name}" in from_backup:
                continue
            cur.execute(f"DROP {kind} IF EXISTS {quote_identifier(database)}.{quote_name(name)}")
            removed[f"{kind.lower()} {name}"] = definition[0]
    return removed


def _check_foreign_keys_stay_home(cur: Any, database: str) -> None:
    cur.execute(
        "SELECT DISTINCT TABLE_NAME, CONSTRAINT_NAME, REFERENCED_TABLE_SCHEMA FROM information_schema.KEY_COLUMN_USAGE "
        "WHERE TABLE_SCHEMA = %s AND REFERENCED_TABLE_SCHEMA IS NOT NULL AND REFERENCED_TABLE_SCHEMA <> %s",
        (database, database),
    )
    strays = [f"{table}.{name} -> {schema}" for table, name, schema in cur.fetchall()]
    if strays:
        raise SchemagateError(f"After the swap, foreign keys of {database!r} point into other databases: {', '.join(strays[:5])}.")
