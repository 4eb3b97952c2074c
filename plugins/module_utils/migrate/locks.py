"""Locks a migration run takes or waits for, and naming whoever holds them.

The migration lock is a server-side advisory lock (GET_LOCK): the server releases
it when the holding session ends, so a killed run never leaves it behind. (The
deploy lock spanning a whole deploy.yml is a row, deploy/deploy_lock.py, whose
holder's liveness its guardian's connection tells.)
"""
from __future__ import annotations

import hashlib
from contextlib import contextmanager
from typing import Any, Iterator, List

from ..core.connection import MySQLError, error_text
from ..core.errors import SchemagateError

_MAX_LOCK_NAME = 64


def lock_name(database: str) -> str:
    name = f"schemagate:{database}"
    if len(name) > _MAX_LOCK_NAME:  # MySQL 5.7+ limits user lock names to 64 characters
        name = "schemagate:" + hashlib.sha1(database.encode()).hexdigest()
    return name


@contextmanager
def advisory_lock(conn: Any, database: str, timeout: int) -> Iterator[str]:
    """Hold the per-database migration lock; wait up to ``timeout`` s, then fail naming the holder."""
    name = lock_name(database)
    with conn.cursor() as cur:
        cur.execute("SELECT GET_LOCK(%s, %s)", (name, timeout))
        (got,) = cur.fetchone()
    if got != 1:
        raise SchemagateError(
            f"Another run holds the migration lock {name!r} ({describe_lock_holder(conn, name)}); "
            f"waited {timeout} s. Retry when it finishes, or raise lock_timeout.",
            {"lock": name},
        )
    try:
        yield name
    finally:
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT RELEASE_LOCK(%s)", (name,))
                cur.fetchone()
        except MySQLError:
            pass  # the connection is gone, and the server released the lock with it


def describe_lock_holder(conn: Any, name: str) -> str:
    with conn.cursor() as cur:
        cur.execute("SELECT IS_USED_LOCK(%s)", (name,))
        (holder,) = cur.fetchone()
        if holder is None:
            return "holder already gone"
        try:
            cur.execute(
                "SELECT USER, HOST, TIME FROM information_schema.PROCESSLIST WHERE ID = %s", (holder,)
            )
            row = cur.fetchone()
        except MySQLError:
            row = None
    if row is None:
        return f"connection id {holder}; grant PROCESS to see its user and host"
    user, host, seconds = row
    return f"connection id {holder}, {user}@{host}, busy for {seconds} s"


def describe_open_transactions(conn: Any, limit: int = 5) -> List[str]:
    """Other sessions' open transactions, oldest first: the usual metadata-lock blockers."""
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT t.trx_mysql_thread_id, p.USER, p.HOST, "
                "TIMESTAMPDIFF(SECOND, t.trx_started, NOW()), p.COMMAND, p.INFO "
                "FROM information_schema.INNODB_TRX t "
                "LEFT JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id "
                "WHERE t.trx_mysql_thread_id <> CONNECTION_ID() "
                "ORDER BY t.trx_started LIMIT %s",
                (limit,),
            )
            rows = cur.fetchall()
    except MySQLError as exc:
        return [f"open transactions not readable ({error_text(exc)}); grant PROCESS to name blockers"]
    described = []
    for thread, user, host, age, command, info in rows:
        doing = " ".join(str(info).split())[:80] if info else (command or "idle")
        described.append(f"connection {thread} ({user}@{host}) has a transaction open for {age} s, now: {doing}")
    return described
