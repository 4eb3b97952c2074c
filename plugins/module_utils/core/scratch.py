"""Scratch databases: where schemagate may write, and the proof that it made them.

A scratch database carries a marker table naming its run; schemagate only ever drops
a database whose marker it wrote, and never one whose name is the source's.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

from .bookkeeping import MARKER_TABLE
from .connection import MySQLError, error_text, quote_identifier, validate_identifier
from .errors import SchemagateError
from .session import SqlSession


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


def database_exists(cur: Any, name: str) -> bool:
    return SqlSession(cur.connection).database_exists(name)


def _marker_run(cur: Any, name: str) -> Optional[str]:
    cur.execute(
        "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s", (name, MARKER_TABLE)
    )
    if cur.fetchone() is None:
        return None
    cur.execute(f"SELECT run_id FROM {quote_identifier(name)}.{MARKER_TABLE} LIMIT 1")
    row = cur.fetchone()
    return str(row[0]) if row else None


def drop_scratch(conn: Any, source: str, target: str, run_id: str) -> bool:
    """Drop ``target`` only if it is a scratch database of this run; False if it was already gone."""
    check_scratch_target(source, target)
    with conn.cursor() as cur:
        if not database_exists(cur, target):
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
        if not database_exists(cur, database):
            raise SchemagateError(f"Unknown database {database!r}: clone production first (schemagate.mysql.clone).")
        run_id = _marker_run(cur, database)
    if run_id is None:
        raise SchemagateError(
            f"Refusing to write to {database!r}: it is not a scratch database made by schemagate.mysql.clone "
            "(no schemagate_scratch marker). The gate never writes to production."
        )
    return run_id


def create_scratch(conn: Any, source: str, target: str, run_id: str, charset: Optional[Tuple[str, str]] = None) -> None:
    """Create an empty scratch database ``target`` with ``source``'s character set and this run's marker.

    For callers that fill the database themselves (the backup verification restores a dump into it);
    the marker lets ``drop_scratch`` drop it later, and nothing else. ``charset`` (character set, collation)
    is ``source``'s when it lives on another server than ``conn``'s; else it is read here.
    """
    check_scratch_target(source, target)
    with conn.cursor() as cur:
        if charset is None and not database_exists(cur, source):
            raise SchemagateError(f"Unknown database {source!r}: check schemagate_database.")
        if database_exists(cur, target):
            raise SchemagateError(
                f"Scratch database {target!r} already exists: drop it (if schemagate left it) or choose another run id."
            )
        if charset is None:
            cur.execute(
                "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
                (source,),
            )
            charset = cur.fetchone()
        charset, collation = charset
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
