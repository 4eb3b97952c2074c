"""Restoring a dump into an empty scratch database, in parallel, as myloader does.

The dump (gzip, as ``backup.take_backup`` writes it) is read as a stream of statements: INSERT
batches go to a few connections at once, DDL and session statements run in order on one, and
secondary keys and foreign keys are built after the rows. Nothing in a dump may touch another
database. Used by the backup verification and, through it, by the emergency restore.
"""
from __future__ import annotations

import queue
import re
import threading
import time
from typing import Any, Dict, Iterator, List, Optional, Protocol, Sequence, Tuple

from ..core.bookkeeping import MARKER_TABLE
from ..core.compression import READ_ERRORS, open_gzip
from ..core.connection import ConnectionParams, MySQLError, connect, error_text, quote_name
from ..core.errors import SchemagateError
from ..core.scratch import check_scratch_target
from ..core.sql_script import split_statements
from ..core.table_ddl import fk_index_candidates, generated_by_rule, parse_create_table, plan_table


RESTORE_WORKERS = 2
_READ_CHUNK = 4 << 20
# MariaDB 10.11.8+ dumps start with this line, a command for the mariadb client only.
_SANDBOX_LINE = b"/*M!999999\\- enable the sandbox mode */"
_DELIMITER_LINE = re.compile(rb"^\s*DELIMITER\s+(\S+)\s*$", re.IGNORECASE)
_EXECUTABLE_COMMENT = re.compile(r"/\*M?!\d*\s?|\*/")
_DEFINER = re.compile(r"\s*\bDEFINER\s*=\s*(?:`[^`]*`(?:\s*@\s*`[^`]*`)?|'[^']*'(?:\s*@\s*'[^']*')?|CURRENT_USER(?:\(\))?)", re.IGNORECASE)
_NAME = r"`((?:[^`]|``)+)`|([A-Za-z0-9_$]+)"
_STATEMENT_KINDS = (
    ("insert", re.compile(r"^INSERT\s+INTO\b", re.IGNORECASE)),
    ("session", re.compile(r"^SET\b", re.IGNORECASE)),
    ("skip", re.compile(r"^(?:LOCK\s+TABLES|UNLOCK\s+TABLES|ALTER\s+TABLE\s+\S+\s+(?:DISABLE|ENABLE)\s+KEYS)\b", re.IGNORECASE)),
    ("table", re.compile(r"^(?:CREATE|DROP)\s+(?:TEMPORARY\s+)?TABLE\b", re.IGNORECASE)),
    ("view", re.compile(rf"^CREATE\s+(?:OR\s+REPLACE\s+)?(?:ALGORITHM\s*=\s*\w+\s+)?(?:SQL\s+SECURITY\s+\w+\s+)?VIEW\s+(?:{_NAME})", re.IGNORECASE)),
    ("trigger", re.compile(rf"^CREATE\s+TRIGGER\s+(?:{_NAME})", re.IGNORECASE)),
    ("routine", re.compile(rf"^CREATE\s+(?:PROCEDURE|(?:AGGREGATE\s+)?FUNCTION)\s+(?:{_NAME})", re.IGNORECASE)),
    ("event", re.compile(rf"^CREATE\s+EVENT\s+(?:{_NAME})", re.IGNORECASE)),
    ("drop_object", re.compile(r"^DROP\s+(?:VIEW|TRIGGER|PROCEDURE|FUNCTION|EVENT)\b", re.IGNORECASE)),
    ("database", re.compile(r"^ALTER\s+(?:DATABASE|SCHEMA)\b", re.IGNORECASE)),
    ("forbidden", re.compile(r"^(?:USE\b|(?:CREATE|DROP)\s+(?:DATABASE|SCHEMA)\b|CHANGE\s+MASTER\b|RESET\b)", re.IGNORECASE)),
)
_OBJECT_KINDS = ("view", "trigger", "routine", "event", "drop_object")


class BinaryReader(Protocol):  # pylint: disable=too-few-public-methods
    """Where a dump is read from: a decompressing file, or the dump's own output while it is written."""

    def read(self, size: int = -1, /) -> bytes:
        ...


_TABLE_NAME = re.compile(rf"^(?:CREATE|DROP)\s+(?:TEMPORARY\s+)?TABLE\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?(?:{_NAME})", re.IGNORECASE)


def iter_dump_statements(path: str) -> Iterator[Tuple[bool, Any]]:
    """Yield ``(is_insert, statement)`` for each statement of a gzip-compressed dump file, in order (``iter_statements``)."""
    with open_gzip(path) as source:
        yield from iter_statements(source, path)


def iter_statements(source: BinaryReader, path: str) -> Iterator[Tuple[bool, Any]]:
    """Yield ``(is_insert, statement)`` for each statement of a dump read from ``source`` (plain bytes), in order.

    INSERT statements come as bytes, found with one search for ``;\\n``: a dump escapes newlines in
    data, so that sequence can only end the statement. Everything else (DDL, SET, routines with
    DELIMITER) goes through ``sql_script.split_statements`` as text, region by region. An INSERT is
    recognised only at a statement boundary under the ``;`` delimiter, so a routine body holding
    ``INSERT INTO`` lines stays inside its routine. ``path`` names the source in messages.
    """
    buffer = b""
    position = 0
    eof = False
    delimiter = b";"
    at_boundary = True
    pending: List[bytes] = []
    first_line = True

    def more() -> bool:
        nonlocal buffer, position, eof
        chunk = source.read(_READ_CHUNK)
        if not chunk:
            eof = True
            return False
        buffer = buffer[position:] + chunk
        position = 0
        return True

    def flushed() -> Iterator[Tuple[bool, Any]]:
        if pending:
            text = b"".join(pending).decode("utf-8", "surrogateescape")
            pending.clear()
            for statement in split_statements(text, path):
                yield False, statement.sql

    while True:
        newline = buffer.find(b"\n", position)
        if newline == -1:
            if more():
                continue
            if position < len(buffer):
                pending.append(buffer[position:])
                position = len(buffer)
            break
        if at_boundary and delimiter == b";" and buffer.startswith(b"INSERT INTO ", position):
            yield from flushed()
            end = buffer.find(b";\n", position)
            while end == -1 and more():
                end = buffer.find(b";\n", position)
            if end == -1:
                raise SchemagateError(f"{path}: the dump ends inside an INSERT statement: the file is truncated.")
            yield True, buffer[position:end]
            position = end + 2
            continue
        line = buffer[position:newline + 1]
        position = newline + 1
        if first_line and line.startswith(_SANDBOX_LINE):
            first_line = False
            continue
        first_line = False
        pending.append(line)
        stripped = line.strip()
        match = _DELIMITER_LINE.match(stripped)
        if match:
            delimiter = match.group(1)
            at_boundary = True
        elif stripped and not stripped.startswith(b"--"):
            at_boundary = stripped.endswith(delimiter)
    yield from flushed()


def plain_statement(sql: str) -> str:
    """A statement without executable-comment markers and DEFINER, on one line: for classification only."""
    return " ".join(_DEFINER.sub(" ", _EXECUTABLE_COMMENT.sub(" ", sql), count=1).split())


def classify(sql: str) -> Tuple[str, Optional[str]]:
    """(kind, object name) of a dump statement; kind is one of the _STATEMENT_KINDS or 'other'."""
    plain = plain_statement(sql)
    for kind, pattern in _STATEMENT_KINDS:
        match = pattern.match(plain)
        if match:
            groups = [group for group in match.groups() if group] if match.groups() else []
            return kind, (groups[0].replace("``", "`") if groups else None)
    return "other", None


def without_definer(sql: str) -> str:
    """The deploy account cannot create objects for another definer (that needs SUPER/SET USER); it becomes the definer."""
    return _DEFINER.sub("", sql, count=1)


def _for_database(sql: str, kind: str, source: str, target: str, path: str) -> str:
    """A statement made safe to run in ``target``: nothing in a dump may touch another database."""
    if kind == "forbidden":
        raise SchemagateError(
            f"{path}: the dump contains '{plain_statement(sql)[:60]}', which would leave the restore's database: "
            "only dumps of one database without --databases are restored."
        )
    if kind == "database":
        quoted = f"`{source}`"
        if quoted not in sql:
            raise SchemagateError(f"{path}: the dump alters another database ('{plain_statement(sql)[:60]}'): refusing to restore it.")
        return sql.replace(quoted, f"`{target}`", 1)
    if kind in ("view", "trigger", "routine", "event"):
        return without_definer(sql)
    return sql


def defer_secondary_keys(create: str, generated: Optional[Sequence[str]] = None) -> Tuple[str, List[str], List[str]]:
    """A dumped CREATE TABLE without its secondary keys and foreign keys, plus what adds them back.

    Loading rows into a table that has only its primary key, then building each secondary index in
    one sorted pass, is much faster than maintaining every index row by row (myloader's
    --innodb-optimize-keys does the same). Returns ``(create, key_clauses, foreign_key_statements)``:
    the ``ADD KEY`` clauses of one ALTER, then the ALTER statements that add the foreign keys, in order.
    An index the server had generated for a foreign key (``generated``, from the manifest; judged from
    the names when None, ``table_ddl.generated_by_rule``) is not added back: adding its foreign key makes
    the server generate it again, so a later covering index drops it as it does in production.
    Anything the parser does not recognise line by line (and tables whose AUTO_INCREMENT column
    needs a secondary key) is left exactly as dumped, with nothing deferred.
    """
    table = parse_create_table(create)
    if table is None:
        return create, [], []
    keys = [key for key in table.keys if key.kind in ("KEY", "UNIQUE KEY")]
    if not keys and not table.foreign_keys:
        return create, [], []
    auto = table.auto_increment_column
    if auto and not (table.primary_parts and table.primary_parts[0] == auto):
        return create, [], []
    candidates = fk_index_candidates(table)
    if generated is None:
        chosen = generated_by_rule(table)
    else:
        chosen = {fk: index for fk, index in candidates.items() if index in set(generated)}
    plan = plan_table(table, chosen)
    left_to_server = set(plan.generated.values())
    deferred = [key for key in keys if key.name not in left_to_server]
    rebuilt = table.render(tuple(key.text for key in keys) + tuple(f.text for f in table.foreign_keys))
    return rebuilt, ["ADD " + key.text for key in deferred], plan.foreign_key_statements


class _InsertWorkers:
    """INSERT batches run on a few connections at once, each with the dump's session settings."""

    def __init__(self, params: ConnectionParams, database: str, prelude: Sequence[str], count: int) -> None:
        self._queue: "queue.Queue[Optional[bytes]]" = queue.Queue(maxsize=max(2, count * 3))
        self._error: Optional[Tuple[bytes, BaseException]] = None
        self._connections: List[Any] = []
        self._threads: List[threading.Thread] = []
        self.statements = 0
        try:
            for number in range(count):
                conn = connect(params, database)
                self._connections.append(conn)
                with conn.cursor() as cur:
                    for statement in prelude:
                        cur.execute(statement)
                    cur.execute("SET SESSION foreign_key_checks = 0, unique_checks = 0")
                thread = threading.Thread(target=self._work, args=(conn,), name=f"schemagate-restore-{number}", daemon=True)
                thread.start()
                self._threads.append(thread)
        except BaseException:
            self.close()
            raise

    def _work(self, conn: Any) -> None:
        with conn.cursor() as cur:
            while True:
                statement = self._queue.get()
                try:
                    if statement is None:
                        return
                    if self._error is None:
                        cur.execute(statement)
                except Exception as exc:  # pylint: disable=broad-exception-caught  # handed to the main thread
                    if self._error is None:
                        self._error = (statement or b"", exc)
                finally:
                    self._queue.task_done()

    def check(self) -> None:
        if self._error is not None:
            statement, exc = self._error
            table = re.match(rb"(INSERT\s+INTO|ALTER\s+TABLE)\s+`?([^`\s(]+)", statement)
            where = table.group(2).decode("utf-8", "replace") if table else "a table"
            what = "indexes and foreign keys" if table and table.group(1).startswith(b"ALTER") else "rows"
            reason = error_text(exc) if isinstance(exc, MySQLError) else f"{type(exc).__name__}: {exc}"
            raise SchemagateError(f"Restoring the {what} of {where} failed: {reason}")

    def submit(self, statement: bytes) -> None:
        self.check()
        self._queue.put(statement)
        self.statements += 1

    def barrier(self) -> None:
        """Wait until every queued INSERT has run (before a trigger is created on the table, for example)."""
        self._queue.join()
        self.check()

    def close(self) -> None:
        for thread in self._threads:
            if thread.is_alive():
                self._queue.put(None)
        for thread in self._threads:
            thread.join()
        self._threads = []
        for conn in self._connections:
            try:
                conn.close()
            except Exception:  # pylint: disable=broad-exception-caught  # closing a broken connection
                pass
        self._connections = []


def restore_dump(  # pylint: disable=too-many-positional-arguments
    params: ConnectionParams, dump_path: str, source: str, target: str, workers: int = RESTORE_WORKERS,
    generated_fk_indexes: Optional[Dict[str, List[str]]] = None, stream: Optional[BinaryReader] = None,
    other_server: bool = False,
) -> Dict[str, Any]:
    """Restore a dump of ``source`` into the (empty, existing) database ``target``, in parallel.

    The dump is read from ``dump_path`` (gzip), or from ``stream`` (plain bytes, e.g. the dump's output
    while the backup file is written; ``dump_path`` then only names it). With ``other_server`` the
    connection reaches another server than the dump's, and ``target`` may bear ``source``'s name.

    DDL and session statements run in order on one connection; INSERT batches go to ``workers``
    other connections (same session settings as the dump's header, foreign_key_checks and
    unique_checks off, as in the dump); each table's first batch runs alone, since two connections
    starting on the same empty InnoDB table deadlock. Before any trigger, view, routine or event the pending
    INSERTs are drained, so a trigger never fires on restored rows. LOCK/UNLOCK TABLES and
    ALTER TABLE ... DISABLE/ENABLE KEYS are skipped (they would serialise the workers; the KEYS
    statements only matter for MyISAM, whose indexes are then built row by row). DEFINER clauses
    are dropped: the restoring account becomes the definer. Secondary keys and foreign keys are
    added after all rows are in (``defer_secondary_keys``), one ALTER TABLE per table, in parallel; the
    indexes production's server generated for a foreign key (``generated_fk_indexes``, table -> names, as
    the manifest records them) are left to the server to generate again.

    Returns the tables restored, the statements counted and ``objects``: the statements that
    recreate views, triggers, routines and events with their session settings, in dump order
    (including the stand-in views that let a view use a view created after it), for replaying in
    another database (the emergency restore does, in production).
    """
    check_scratch_target(source, target, other_server)
    started = time.monotonic()
    conn = connect(params, target)
    inserter: Optional[_InsertWorkers] = None
    prelude: List[str] = []
    objects: List[Tuple[str, Optional[str], str]] = []
    tables: List[str] = []
    counts = {"ddl": 0, "insert": 0, "skipped": 0, "deferred_keys": 0}
    deferred: List[Tuple[str, List[str], List[str]]] = []  # (table, key clauses, foreign key clauses)
    in_prelude = True  # the dump's header: session settings every worker needs
    first_batch_pending = False  # the next INSERT is the first into a table just created
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION foreign_key_checks = 0, unique_checks = 0")
            statements = iter_dump_statements(dump_path) if stream is None else iter_statements(stream, dump_path)
            for is_insert, statement in statements:
                if is_insert:
                    if inserter is None:
                        inserter = _InsertWorkers(params, target, prelude, max(1, workers))
                    inserter.submit(statement)
                    counts["insert"] += 1
                    if first_batch_pending:
                        # With unique_checks and foreign_key_checks off, InnoDB (MariaDB 10.6+) locks a whole
                        # *empty* table for an INSERT: two workers starting on the same empty table deadlock.
                        # Once the first batch has committed the table is not empty and the rest go in parallel.
                        inserter.barrier()
                        first_batch_pending = False
                    continue
                kind, name = classify(statement)
                if kind == "skip":
                    counts["skipped"] += 1
                    continue
                if kind == "insert":  # an INSERT the fast path did not see (unusual layout): run it in order
                    if inserter is not None:
                        inserter.barrier()
                    cur.execute(statement)
                    counts["insert"] += 1
                    continue
                if kind == "table":
                    in_prelude = False
                    named = _TABLE_NAME.match(plain_statement(statement))
                    table = (named.group(1) or named.group(2)).replace("``", "`") if named else ""
                    if table == MARKER_TABLE:  # DROP TABLE IF EXISTS would remove the marker that protects the scratch database
                        raise SchemagateError(f"{dump_path}: the dump holds a {MARKER_TABLE} table: it is a dump of a scratch database.")
                    if table and plain_statement(statement).upper().startswith("CREATE"):
                        tables.append(table)
                        first_batch_pending = True
                        generated = None if generated_fk_indexes is None else generated_fk_indexes.get(table, [])
                        statement, keys, foreign = defer_secondary_keys(statement, generated)
                        if keys or foreign:
                            deferred.append((table, keys, foreign))
                if kind in _OBJECT_KINDS and inserter is not None:
                    inserter.barrier()
                executable = _for_database(statement, kind, source, target, dump_path)
                if kind == "session" and in_prelude:
                    prelude.append(executable)
                if kind in _OBJECT_KINDS or kind in ("session", "database"):
                    objects.append((kind, name, statement))
                try:
                    cur.execute(executable)
                except MySQLError as exc:
                    raise SchemagateError(f"Restoring {dump_path} into {target!r} failed at '{plain_statement(statement)[:80]}': {error_text(exc)}") from None
                counts["ddl"] += 1
        if deferred:
            if inserter is None:
                inserter = _InsertWorkers(params, target, prelude, max(1, workers))
            # Keys first (a foreign key may need its parent's unique key), each table's in one sorted pass, tables in parallel.
            for table, keys, _foreign in deferred:
                if keys:
                    inserter.submit(f"ALTER TABLE {quote_name(table)} {', '.join(keys)}".encode("utf-8"))
                    counts["deferred_keys"] += len(keys)
            inserter.barrier()
            # Then the foreign keys: one ALTER per table in parallel; a table that needs several (an unnamed
            # constraint whose number must be kept) gets them in order, on this connection.
            for table, _keys, foreign in deferred:
                if len(foreign) == 1:
                    inserter.submit(foreign[0].encode("utf-8"))
                    counts["deferred_keys"] += 1
            with conn.cursor() as cur:
                for table, _keys, foreign in deferred:
                    if len(foreign) > 1:
                        for statement in foreign:
                            try:
                                cur.execute(statement)
                            except MySQLError as exc:
                                raise SchemagateError(f"Restoring the foreign keys of {table} failed: {error_text(exc)}") from None
                        counts["deferred_keys"] += len(foreign)
        if inserter is not None:
            inserter.barrier()
    except READ_ERRORS as exc:
        raise SchemagateError(f"Cannot read {dump_path}: {exc}; the file is damaged, use another backup.") from None
    finally:
        if inserter is not None:
            inserter.close()
        conn.close()
    return {
        "tables": tables,
        "statements": counts,
        "workers": max(1, workers),
        "seconds": round(time.monotonic() - started, 3),
        "objects": objects,
    }
