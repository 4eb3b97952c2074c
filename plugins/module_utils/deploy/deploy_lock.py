"""The deploy lock: one deploy per database, across the backup, migrate and smoke-test tasks.

A server-side GET_LOCK dies with its session, but a deploy spans several
Ansible tasks and sessions. So the lock is one row in ``schemagate_deploy_lock``
in the target database, naming its holder and expiring after a TTL, so a deploy
killed without releasing it blocks the next one for at most that long (or
until an operator releases it by run id). Acquiring is a single INSERT on a
primary key: two deploys can never both succeed.
"""
from __future__ import annotations

import time
from typing import Any, Dict, Optional

from ..core.bookkeeping import LOCK_TABLE
from ..core.connection import MySQLError, error_code, quote_identifier
from ..core.errors import SchemagateError

_DUPLICATE_KEY = 1062


def _table(database: str) -> str:
    return f"{quote_identifier(database)}.{LOCK_TABLE}"


def ensure_lock_table(conn: Any, database: str) -> None:
    with conn.cursor() as cur:
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {_table(database)} ("
            "id TINYINT UNSIGNED NOT NULL PRIMARY KEY, run_id VARCHAR(64) NOT NULL, holder VARCHAR(255) NOT NULL, "
            "acquired_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, expires_at TIMESTAMP NULL) ENGINE=InnoDB"
        )


def current_holder(conn: Any, database: str) -> Optional[Dict[str, Any]]:
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT run_id, holder, acquired_at, expires_at, expires_at < NOW() FROM {_table(database)} WHERE id = 1"
        )
        row = cur.fetchone()
    if row is None:
        return None
    return {"run_id": row[0], "holder": row[1], "acquired_at": str(row[2]), "expires_at": str(row[3]), "expired": bool(row[4])}


def acquire(conn: Any, database: str, run_id: str, holder: str, ttl_seconds: int, wait_seconds: int) -> Dict[str, Any]:
    """Take the lock for ``run_id`` (re-entrant); wait up to ``wait_seconds``, then fail naming the holder."""
    if ttl_seconds < 1 or wait_seconds < 0:
        raise SchemagateError("deploy lock ttl must be >= 1 s and wait >= 0 s.")
    ensure_lock_table(conn, database)
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            with conn.cursor() as cur:
                cur.execute(
                    f"INSERT INTO {_table(database)} (id, run_id, holder, expires_at) "
                    "VALUES (1, %s, %s, NOW() + INTERVAL %s SECOND)",
                    (run_id, holder[:255], ttl_seconds),
                )
            return {"changed": True, "run_id": run_id, "holder": holder}
        except MySQLError as exc:
            if error_code(exc) != _DUPLICATE_KEY:
                raise SchemagateError(f"Cannot take the deploy lock on {database!r}: {exc.args[-1]}") from None
        held = current_holder(conn, database)
        if held is None:
            continue  # released between our INSERT and SELECT: try again
        if held["run_id"] == run_id:
            return {"changed": False, "run_id": run_id, "holder": held["holder"]}
        if held["expired"]:
            with conn.cursor() as cur:  # a deploy that died without releasing: its TTL is over
                cur.execute(f"DELETE FROM {_table(database)} WHERE id = 1 AND run_id = %s", (held["run_id"],))
            continue
        if time.monotonic() >= deadline:
            raise SchemagateError(
                f"Another deploy holds the deploy lock on {database!r}: {held['holder']} (run {held['run_id']}, "
                f"since {held['acquired_at']}, expires {held['expires_at']}); waited {wait_seconds} s. "
                "Retry when it finishes, or release it with state=released and its run_id if it died.",
                {"holder": held},
            )
        time.sleep(1)  # polling another deploy's lock row; it is released by a different session


def release(conn: Any, database: str, run_id: str) -> bool:
    """Release the lock of ``run_id``; False when that run does not hold it."""
    ensure_lock_table(conn, database)
    with conn.cursor() as cur:
        cur.execute(f"DELETE FROM {_table(database)} WHERE id = 1 AND run_id = %s", (run_id,))
        return cur.rowcount == 1
