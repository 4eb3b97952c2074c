"""Scratch databases: where schemagate may write, and the proof that it made them.

A scratch database carries a marker table naming its run; schemagate only ever drops
a database whose marker it wrote, and never one whose name is the source's.
"""
from __future__ import annotations

from typing import Any, Optional

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


def check_scratch_target(source: str, target: str, other_server: bool = False) -> None:
    """``target`` may hold a copy of ``source``: never the source itself (the same name only on another server)."""
    validate_identifier(source, "database name")
    validate_identifier(target, "scratch database name")
    if target.lower() == source.lower() and not other_server:
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


def drop_scratch(conn: Any, source: str, target: str, run_id: str, other_server: bool = False) -> bool:
    """Drop ``target`` only if it is a scratch database of this run; False if it was already gone."""
    check_scratch_target(source, target, other_server)
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


def create_scratch(conn: Any, source: str, target: str, run_id: str, source_conn: Optional[Any] = None) -> None:
    """Create an empty scratch database ``target`` with ``source``'s character set and this run's marker.

    For callers that fill the database themselves (the backup verification restores a dump into it);
    the marker lets ``drop_scratch`` drop it later, and nothing else. With ``source_conn`` (production,
    only read) the scratch database is made through ``conn`` on another server, and may bear the source's name.
    """
    check_scratch_target(source, target, other_server=source_conn is not None)
    with (source_conn or conn).cursor() as src_cur:
        if not database_exists(src_cur, source):
            raise SchemagateError(f"Unknown database {source!r}: check schemagate_database.")
        src_cur.execute(
            "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
            (source,),
        )
        charset, collation = src_cur.fetchone()
    with conn.cursor() as cur:
        if database_exists(cur, target):
            where = " on the rehearsal server" if source_conn is not None else ""
            raise SchemagateError(
                f"Scratch database {target!r} already exists{where}: drop it (if schemagate left it) or choose another run id."
            )
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
