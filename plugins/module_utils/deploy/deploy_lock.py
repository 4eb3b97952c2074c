"""The deploy lock: one deploy per database, across the backup, migrate and smoke-test tasks.

A server-side GET_LOCK dies with its session, but a deploy spans several
Ansible tasks and sessions. So the lock is one row in ``schemagate_deploy_lock``
in the target database, naming its holder. Acquiring is a single INSERT on a
primary key: two deploys can never both succeed.

Whether the holder still lives is the server's to say: a **guardian** process,
started when the lock is taken, holds a connection (and the user lock
``schemagate-deploy:<hash of db and run id>`` on it) for as long as the controller that took the
lock runs, and the row records that connection's id. When the controller is
killed (even kill -9) the guardian's connection closes, and the next deploy finds
a *dead holder*: it refuses at once, naming the run and the recovery command
(``playbooks/rollback.yml -e schemagate_release_lock=<run id>``), which undoes what
that run left and releases the lock, and refuses while the holder lives. A row
without a connection id (taken by an older release) still expires after its TTL.
"""
from __future__ import annotations

import hashlib
import os
import select
import signal
import time
from typing import Any, Callable, Dict, Optional

from ..core.bookkeeping import LOCK_TABLE
from ..core.connection import ConnectionParams, MySQLError, connect, error_code, quote_identifier
from ..core.errors import SchemagateError
from ..core.interrupts import alive

_DUPLICATE_KEY = 1062
_DUPLICATE_COLUMN = 1060
_MAX_LOCK_NAME = 64
_GUARDIAN_BEAT_SECONDS = 2
RECOVERY_COMMAND = "ansible-playbook playbooks/rollback.yml -e schemagate_release_lock={run_id}"


def _table(database: str) -> str:
    return f"{quote_identifier(database)}.{LOCK_TABLE}"


def guard_lock_name(database: str, run_id: str) -> str:
    """The user lock a run's guardian holds while its deploy lives (not the runner's ``schemagate:<db>``)."""
    return "schemagate-deploy:" + hashlib.sha1(f"{database}\0{run_id}".encode()).hexdigest()[:40]


def ensure_lock_table(conn: Any, database: str) -> None:
    with conn.cursor() as cur:
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {_table(database)} ("
            "id TINYINT UNSIGNED NOT NULL PRIMARY KEY, run_id VARCHAR(64) NOT NULL, holder VARCHAR(255) NOT NULL, "
            "acquired_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, expires_at TIMESTAMP NULL, "
            "connection_id BIGINT UNSIGNED NULL, heartbeat_at TIMESTAMP NULL) ENGINE=InnoDB"
        )
        for column, definition in (("connection_id", "BIGINT UNSIGNED NULL"), ("heartbeat_at", "TIMESTAMP NULL")):
            try:  # a lock table made by an earlier release
                cur.execute(f"ALTER TABLE {_table(database)} ADD COLUMN {column} {definition}")
            except MySQLError as exc:
                if error_code(exc) != _DUPLICATE_COLUMN:
                    raise


def current_holder(conn: Any, database: str) -> Optional[Dict[str, Any]]:
    """The holder, with ``alive``: True/False judged by its guardian's connection, None when none was recorded."""
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT run_id, holder, acquired_at, expires_at, expires_at < NOW(), connection_id, heartbeat_at "
            f"FROM {_table(database)} WHERE id = 1"
        )
        row = cur.fetchone()
        if row is None:
            return None
        cur.execute("SELECT IS_USED_LOCK(%s)", (guard_lock_name(database, row[0]),))
        (user,) = cur.fetchone()
    connection_id = int(row[5]) if row[5] is not None else None
    return {
        "run_id": row[0], "holder": row[1], "acquired_at": str(row[2]), "expires_at": str(row[3]), "expired": bool(row[4]),
        "connection_id": connection_id, "heartbeat_at": str(row[6]) if row[6] is not None else None,
        "alive": None if connection_id is None else (user is not None and int(user) == connection_id),
    }


def describe_dead(held: Dict[str, Any]) -> str:
    seen = f"last seen alive {held['heartbeat_at']}" if held.get("heartbeat_at") else f"taken {held['acquired_at']}"
    return (f"dead holder {held['run_id']} ({held['holder']}; connection {held['connection_id']} gone, {seen})")


def dead_holder_error(database: str, held: Dict[str, Any]) -> SchemagateError:
    return SchemagateError(
        f"The deploy lock on {database!r} is held by a {describe_dead(held)}: that deploy was killed without "
        f"releasing it and may have left production half-migrated. Recover with: "
        f"{RECOVERY_COMMAND.format(run_id=held['run_id'])} (it undoes what that run left, verifies production "
        "against the pre-deploy fingerprint and releases the lock).",
        {"holder": held},
    )


def acquire(conn: Any, database: str, run_id: str, holder: str, ttl_seconds: int, wait_seconds: int,
            connection_id: Optional[int] = None, stopped: Optional[Callable[[], Optional[str]]] = None) -> Dict[str, Any]:
    """Take the lock for ``run_id`` (re-entrant); wait up to ``wait_seconds``, then fail naming the holder.

    ``connection_id`` is the guardian's connection (see start_guardian): whether this run lives is judged by it.
    A dead holder fails at once, naming the recovery command; it is never taken over silently. ``stopped``
    returns the reason of a stop request (an interrupt) that ends the wait, or None."""
    if ttl_seconds < 1 or wait_seconds < 0:
        raise SchemagateError("deploy lock ttl must be >= 1 s and wait >= 0 s.")
    ensure_lock_table(conn, database)
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            with conn.cursor() as cur:
                cur.execute(
                    f"INSERT INTO {_table(database)} (id, run_id, holder, expires_at, connection_id, heartbeat_at) "
                    "VALUES (1, %s, %s, NOW() + INTERVAL %s SECOND, %s, NOW())",
                    (run_id, holder[:255], ttl_seconds, connection_id),
                )
            return {"changed": True, "run_id": run_id, "holder": holder, "connection_id": connection_id}
        except MySQLError as exc:
            if error_code(exc) != _DUPLICATE_KEY:
                raise SchemagateError(f"Cannot take the deploy lock on {database!r}: {exc.args[-1]}") from None
        held = current_holder(conn, database)
        if held is None:
            continue  # released between our INSERT and SELECT: try again
        if held["run_id"] == run_id:
            return {"changed": False, "run_id": run_id, "holder": held["holder"], "connection_id": held["connection_id"]}
        if held["alive"] is False:
            raise dead_holder_error(database, held)
        if held["expired"] and held["alive"] is None:
            with conn.cursor() as cur:  # a deploy of an older release that died without releasing: its TTL is over
                cur.execute(f"DELETE FROM {_table(database)} WHERE id = 1 AND run_id = %s", (held["run_id"],))
            continue
        if time.monotonic() >= deadline:
            raise SchemagateError(
                f"Another deploy holds the deploy lock on {database!r}: {held['holder']} (run {held['run_id']}, "
                f"since {held['acquired_at']}, expires {held['expires_at']}"
                + (f", alive on connection {held['connection_id']}" if held["alive"] else "")
                + f"); waited {wait_seconds} s. Retry when it finishes.",
                {"holder": held},
            )
        reason = stopped() if stopped is not None else None
        if reason:
            raise SchemagateError(
                f"Interrupted ({reason}) while waiting for the deploy lock on {database!r} held by {held['holder']} "
                f"(run {held['run_id']}); production untouched, that lock left as it was.", {"holder": held, "interrupted": reason})
        time.sleep(1)  # polling another deploy's lock row; it is released by a different session


def release(conn: Any, database: str, run_id: str) -> bool:
    """Release the lock of ``run_id``; False when that run does not hold it."""
    ensure_lock_table(conn, database)
    with conn.cursor() as cur:
        cur.execute(f"DELETE FROM {_table(database)} WHERE id = 1 AND run_id = %s", (run_id,))
        return cur.rowcount == 1


def inspect_dead(conn: Any, database: str, run_id: str) -> Dict[str, Any]:
    """The holder, when it is ``run_id`` and dead; otherwise refuse with one line saying why."""
    ensure_lock_table(conn, database)
    held = current_holder(conn, database)
    if held is None:
        raise SchemagateError(f"No deploy holds the deploy lock on {database!r}: there is nothing to release for run {run_id}.",
                              {"holder": None})
    if held["run_id"] != run_id:
        raise SchemagateError(
            f"Run {run_id} does not hold the deploy lock on {database!r}: {held['holder']} (run {held['run_id']}) does; "
            "nothing released.", {"holder": held})
    if held["alive"]:
        raise SchemagateError(
            f"Refusing to release the deploy lock on {database!r}: its holder {held['holder']} (run {run_id}) is alive "
            f"(connection {held['connection_id']} still open). Let that deploy finish, or interrupt it (Ctrl-C or SIGTERM: "
            "it rolls back, reports and releases the lock itself); nothing released.", {"holder": held})
    if held["alive"] is None and not held["expired"]:
        raise SchemagateError(
            f"Refusing to release the deploy lock on {database!r}: run {run_id} recorded no connection, so whether it "
            f"lives cannot be told; it expires at {held['expires_at']}. Nothing released.", {"holder": held})
    return held


def release_dead(conn: Any, database: str, run_id: str) -> Dict[str, Any]:
    """Release the lock of a dead ``run_id`` (refusing a live or unknown holder); return the holder released."""
    held = inspect_dead(conn, database, run_id)
    with conn.cursor() as cur:  # only the row judged dead, and only while its connection stays gone
        cur.execute(
            f"DELETE FROM {_table(database)} WHERE id = 1 AND run_id = %s AND (connection_id IS NULL OR "
            "NOT (IS_USED_LOCK(%s) <=> connection_id))",
            (run_id, guard_lock_name(database, run_id)),
        )
        if cur.rowcount != 1:
            raise SchemagateError(f"The deploy lock of run {run_id} on {database!r} changed while it was released; nothing released.")
    return held


# ------------------------------------------------------------------------------------------- guardian
def start_guardian(params: ConnectionParams, database: str, run_id: str, controller: Optional[int],
                   wait_seconds: int) -> Dict[str, int]:
    """Start the guardian of ``run_id`` (a detached process); return its pid and connection id.

    The guardian holds a connection with the user lock guard_lock_name(database) until the lock row of
    ``run_id`` is released, or the controller ``controller`` is gone (then its connection closes and the
    holder is judged dead), or the row never appears within ``wait_seconds`` + 30 s. It updates the row's
    heartbeat every few seconds. Credentials stay in this process's memory (it is a fork): never argv or a file."""
    read_end, write_end = os.pipe()
    first = os.fork()
    if first == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            os.close(read_end)
            os.setsid()
            if os.fork() != 0:
                os._exit(0)
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            os.closerange(3, write_end)
            os.closerange(write_end + 1, 1024)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C of the deploy must not kill its lock's witness
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            _guard(params, database, run_id, controller, wait_seconds, write_end)
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    os.waitpid(first, 0)
    try:
        answer = b""
        deadline = time.monotonic() + 20
        while not answer.endswith(b"\n") and time.monotonic() < deadline:
            ready, _w, _x = select.select([read_end], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            chunk = os.read(read_end, 256)
            if not chunk:
                break
            answer += chunk
    finally:
        os.close(read_end)
    fields = answer.decode("utf-8", "replace").split()
    if len(fields) != 2 or not all(f.isdigit() for f in fields):
        raise SchemagateError(f"The deploy lock's guardian did not start ({' '.join(fields) or 'no answer'}); deploy lock not taken.")
    return {"pid": int(fields[0]), "connection_id": int(fields[1])}


def stop_guardian(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


def _guard(params: ConnectionParams, database: str, run_id: str, controller: Optional[int], wait_seconds: int,
           answer_fd: int) -> None:  # pragma: no cover - runs in the guardian
    try:
        conn = connect(params, database)
        with conn.cursor() as cur:
            cur.execute("SELECT GET_LOCK(%s, 0), CONNECTION_ID()", (guard_lock_name(database, run_id),))
            got, connection_id = cur.fetchone()
    except (MySQLError, SchemagateError):
        os.write(answer_fd, b"error cannot-connect\n")
        return
    if got != 1:
        os.write(answer_fd, b"error guard-lock-held\n")
        return
    os.write(answer_fd, f"{os.getpid()} {connection_id}\n".encode())
    os.close(answer_fd)
    signal.signal(signal.SIGTERM, lambda *_args: os._exit(0))
    deadline = time.monotonic() + wait_seconds + 30
    seen = False
    try:
        while alive(controller):
            with conn.cursor() as cur:
                cur.execute(f"UPDATE {_table(database)} SET heartbeat_at = NOW() WHERE id = 1 AND run_id = %s AND connection_id = %s",
                            (run_id, connection_id))
                cur.execute(f"SELECT COUNT(*) FROM {_table(database)} WHERE id = 1 AND run_id = %s", (run_id,))
                ours = cur.fetchone()[0] == 1
            if ours:
                seen = True
            elif seen or time.monotonic() > deadline:
                return  # released (or never taken): nothing left to witness
            time.sleep(_GUARDIAN_BEAT_SECONDS if seen else 0.2)
    except MySQLError:
        return  # the server went away: so did the lock's witness
    finally:
        try:
            conn.close()
        except MySQLError:
            pass
