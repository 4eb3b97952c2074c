"""Bounded lock waits: a statement that queues for a metadata lock never stalls the application's writes long.

A statement waiting for a metadata lock (``LOCK TABLES``, ``RENAME TABLE``, ``DROP TRIGGER``, any DDL) makes
every later writer of the table queue behind it, for as long as it waits. With one ordinary transaction
left open, the server's default wait (a day or a year) freezes all writes. Here each attempt waits at most
``LOCK_WAIT_SECONDS`` (1 s, the smallest whole ``lock_wait_timeout`` both MariaDB and MySQL accept), then
gives up; the queued writers run, and after ``RETRY_PAUSE_SECONDS`` the statement is tried again, until its
budget is spent. Every wait names what blocked it: the open transactions' connection id, user, age and
statement (``information_schema.INNODB_TRX``; reading them needs ``PROCESS``).
"""
from __future__ import annotations

import time
from typing import Any, Dict, List, Optional, Sequence

from .errors import SchemagateError
from .server_errors import ER_LOCK_WAIT_TIMEOUT, error_code, error_text

try:
    from pymysql.err import MySQLError
except ImportError:  # reported by modules through missing_required_lib
    class MySQLError(Exception):  # type: ignore[no-redef]
        """Stand-in so except clauses stay valid without the driver."""

LOCK_WAIT_SECONDS = 1
RETRY_PAUSE_SECONDS = 1.0


def blockers(conn: Any, limit: int = 3) -> List[Dict[str, Any]]:
    """Other sessions' open transactions, oldest first (the usual metadata-lock holders)."""
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT t.trx_mysql_thread_id, p.USER, p.HOST, TIMESTAMPDIFF(SECOND, t.trx_started, NOW()), p.COMMAND, p.INFO "
                "FROM information_schema.INNODB_TRX t LEFT JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id "
                "WHERE t.trx_mysql_thread_id <> CONNECTION_ID() ORDER BY t.trx_started LIMIT %s",
                (limit,),
            )
            rows = cur.fetchall()
    except MySQLError as exc:
        return [{"unknown": f"open transactions not readable ({error_text(exc)}); grant PROCESS to name blockers"}]
    return [
        {"id": thread, "user": f"{user}@{host}", "transaction_seconds": age,
         "statement": " ".join(str(info).split())[:120] if info else f"({command or 'idle'}: no statement running)"}
        for thread, user, host, age, command, info in rows
    ]


def describe_blocker(found: Sequence[Dict[str, Any]]) -> str:
    if not found:
        return "no open transaction was seen (a session holding LOCK TABLES, or one that ended meanwhile)"
    first = found[0]
    if "unknown" in first:
        return str(first["unknown"])
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return (f"connection {first['id']} ({first['user']}), its transaction open for {first['transaction_seconds']} s, "
            f"running {first['statement']}{more}")


class LockWaitExhausted(SchemagateError):
    """A statement could not get its locks within its budget of bounded attempts."""


class BoundedLocks:
    """Runs statements with ``lock_wait_timeout`` = 1 s per attempt, retried within ``budget_seconds``.

    ``waits`` records every statement that had to retry: what it was, how many attempts, what blocked it.
    """

    def __init__(self, conn: Any, budget_seconds: float, lock_wait_seconds: int = LOCK_WAIT_SECONDS,
                 pause_seconds: float = RETRY_PAUSE_SECONDS) -> None:
        self.conn = conn
        self.budget_seconds = budget_seconds
        self.lock_wait_seconds = max(1, min(int(lock_wait_seconds), LOCK_WAIT_SECONDS))
        self.pause_seconds = pause_seconds
        self.waits: List[Dict[str, Any]] = []
        with conn.cursor() as cur:
            cur.execute(f"SET SESSION lock_wait_timeout = {self.lock_wait_seconds}")

    def execute(self, cur: Any, sql: str, args: Optional[Sequence[Any]] = None, what: Optional[str] = None) -> Any:
        """``cur.execute(sql, args)``; a lock-wait timeout is retried until the budget is spent, then one line."""
        started = time.monotonic()
        attempts = 0
        seen: List[Dict[str, Any]] = []
        while True:
            attempts += 1
            try:
                result = cur.execute(sql, args)
            except MySQLError as exc:
                if error_code(exc) != ER_LOCK_WAIT_TIMEOUT:
                    raise
                seen = blockers(self.conn) or seen
                if time.monotonic() - started + self.pause_seconds + self.lock_wait_seconds > self.budget_seconds:
                    self._record(sql, what, attempts, seen, started, finished=False)
                    raise LockWaitExhausted(
                        f"{what or _first_words(sql)} did not get its locks in {attempts} attempt(s) of {self.lock_wait_seconds} s "
                        f"within {self.budget_seconds:g} s (writes were never held longer than {self.lock_wait_seconds} s); "
                        f"blocked by {describe_blocker(seen)}",
                        {"blockers": seen, "attempts": attempts},
                    ) from None
                time.sleep(self.pause_seconds)  # the writers queued behind the attempt run now
                continue
            if attempts > 1:
                self._record(sql, what, attempts, seen, started, finished=True)
            return result

    def _record(self, sql: str, what: Optional[str], attempts: int, seen: List[Dict[str, Any]], started: float, finished: bool) -> None:
        self.waits.append({"statement": what or _first_words(sql), "attempts": attempts, "finished": finished,
                           "seconds": round(time.monotonic() - started, 3), "blocked_by": seen,
                           "blocker": describe_blocker(seen)})


class BoundedCursor:
    """A cursor whose ``execute`` goes through ``BoundedLocks`` (for code that takes a cursor)."""

    def __init__(self, cur: Any, locks: BoundedLocks) -> None:
        self._cur = cur
        self._locks = locks

    def execute(self, sql: str, args: Optional[Sequence[Any]] = None) -> Any:
        return self._locks.execute(self._cur, sql, args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cur, name)


def _first_words(sql: str) -> str:
    words = " ".join(sql.split())
    return words if len(words) <= 60 else words[:57] + "..."
