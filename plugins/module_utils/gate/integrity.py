"""Referential integrity of a seeded scratch clone, proven on its rows.

The structure check says which foreign keys and unique keys are declared; this
check proves on seeded rows that the server enforces them, for any schema:

* every foreign key's ON DELETE rule: a parent row with children is deleted and
  the children are found deleted (CASCADE), set to NULL (SET NULL), or the
  delete is refused with error 1451 naming this key (RESTRICT);
* no foreign key has orphans: rows loaded with ``foreign_key_checks=0`` are
  never checked by the server, so they are counted here;
* every UNIQUE key (not PRIMARY) rejects a duplicate with error 1062, and a key
  with nullable columns is reported because rows with NULL there never collide.

Every probe that writes runs inside a transaction that is rolled back, so the
clone is left exactly as it was found. Duplicates are made by giving a second
existing row the key of a first one (UPDATE), not by inserting a copy: InnoDB
never gives back an AUTO_INCREMENT value, not even one taken by a rejected or
rolled-back INSERT, so an inserted copy would leave the table's counter moved.
Queries per probe are bounded (LIMIT, lookups by key or FK index) so the check
stays fast on tables of 100k+ rows; only the orphan count reads a whole table.

The connection must not be inside a transaction: START TRANSACTION would commit it.
Foreign keys are assumed to reference tables of the same database.
"""
from __future__ import annotations

import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from ..core.catalog import read_tables
from ..core.checks import CheckResult
from ..core.connection import MySQLError, check_identifier, error_code, error_text, quote_identifier, validate_identifier
from ..core.dialect import ServerInfo
from ..core.errors import SchemagateError
from ..core.schema_model import ForeignKey, Index, Table
from ..core.session import SqlSession


# Server error codes the probes expect or must tell apart.
ER_DUP_ENTRY = 1062
ER_ROW_IS_REFERENCED = 1217  # refused by a foreign key the user may not see (no constraint named)
ER_ROW_IS_REFERENCED_2 = 1451  # refused by a foreign key, named in the message
ER_LOCK_WAIT_TIMEOUT = 1205
ER_LOCK_DEADLOCK = 1213
CR_SERVER_GONE = 2006
CR_SERVER_LOST = 2013

CASCADE, SET_NULL, RESTRICT = "CASCADE", "SET NULL", "RESTRICT"
PROVABLE_RULES = (CASCADE, SET_NULL, RESTRICT)
PROVEN, FAILED, RETRY = "proven", "failed", "retry"  # what one delete of a parent row showed

PARENT_CANDIDATES = 5  # parent rows tried per foreign key before giving up
CHILD_SAMPLE = 1000  # child rows followed by primary key through a delete
SECOND_ROWS = 3  # rows tried as the duplicate of a unique key
ORPHAN_EXAMPLES = 5  # missing parent values listed per foreign key
DEFAULT_LOCK_WAIT_SECONDS = 5

# Session settings a probe depends on; saved before and restored after.
_SESSION_SETTINGS = ("innodb_lock_wait_timeout", "lock_wait_timeout", "foreign_key_checks", "unique_checks", "time_zone")

# 1451 messages (MariaDB and MySQL): "... fails (`db`.`child`, CONSTRAINT `name` FOREIGN KEY ..."
_REFUSING_CONSTRAINT = re.compile(r"\(`(?:[^`]|``)*`\.`((?:[^`]|``)*)`, CONSTRAINT `((?:[^`]|``)*)`")
# 1062 messages: "Duplicate entry '...' for key 'name'" (MariaDB) or "... for key 'table.name'" (MySQL 8.0.19+)
_DUPLICATE_KEY = re.compile(r"for key '([^']*)'\s*$")

# What the probes read of the schema model: a foreign key with the table that declares it (its child
# side, whose row identity follows the children through a delete), and a UNIQUE index with its table.
DeclaredForeignKey = Tuple[Table, ForeignKey]
DeclaredUniqueKey = Tuple[Table, Index]


def _label(table: Table, name: str) -> str:
    return f"{table.name}.{name}"


@dataclass
class _Outcome:
    """What one delete of a parent row showed."""

    verdict: str  # PROVEN, FAILED, or RETRY (this parent cannot show the rule; try another)
    message: str
    figures: Dict[str, Any] = field(default_factory=dict)
    blocker: str = ""  # the foreign key that refused the delete, when it is not the one under test


def check_integrity(
    conn: Any,
    server: ServerInfo,
    database: str,
    tables: Optional[Sequence[str]] = None,
    lock_wait_seconds: int = DEFAULT_LOCK_WAIT_SECONDS,
) -> List[CheckResult]:
    """Prove every FK rule, count orphans of every FK, prove every unique key; the database is left unchanged.

    ``tables`` restricts the check to the foreign keys declared by those tables
    (their child side) and to their unique keys.
    """
    if lock_wait_seconds < 1:
        raise SchemagateError(f"lock_wait_seconds must be >= 1, got {lock_wait_seconds}.")
    foreign_keys, unique_keys = declared_keys(conn, server, database, tables)
    results: List[CheckResult] = []
    with conn.cursor() as cur, _probe_session(cur, lock_wait_seconds):
        deletes = _ParentDeletes(cur, database, foreign_keys)
        for child, fk in foreign_keys:
            label = _label(child, fk.name)
            results.append(_run(
                "IN101", f"fk {label} ON DELETE {fk.on_delete}", label, lambda r, c=child, k=fk: _prove_fk_rule(cur, database, c, k, deletes, r)
            ))
        for child, fk in foreign_keys:
            label = _label(child, fk.name)
            results.append(_run("IN102", f"orphans {label}", label, lambda r, c=child, k=fk: _count_orphans(cur, database, c, k, r)))
        for table, index in unique_keys:
            label = _label(table, index.name)
            results.append(_run("IN103", f"unique {label}", label, lambda r, t=table, i=index: _prove_unique(cur, database, t, i, r)))
    return results


def declared_keys(
    conn: Any, server: ServerInfo, database: str, tables: Optional[Sequence[str]] = None
) -> Tuple[List[DeclaredForeignKey], List[DeclaredUniqueKey]]:
    """The foreign keys declared by, and the UNIQUE keys (not PRIMARY) of, ``tables`` (default: every table), from the catalog."""
    validate_identifier(database, "database name")
    if tables is not None:
        for table in tables:
            check_identifier(table, "table name")
    SqlSession(conn, server).require_database(database)
    structure = read_tables(conn, database, server, only=tables)
    if tables is not None:
        missing = sorted(set(tables) - set(structure))
        if missing:
            raise SchemagateError(f"No table {', '.join(missing)} in database {database!r}: check the tables option.")
    foreign_keys: List[DeclaredForeignKey] = []
    unique_keys: List[DeclaredUniqueKey] = []
    for name in sorted(structure):
        table = structure[name]
        foreign_keys.extend((table, fk) for fk in table.foreign_keys)
        unique = sorted((index for index in table.unique_indexes if not index.primary), key=lambda index: index.name.lower())
        unique_keys.extend((table, index) for index in unique)
    return foreign_keys, unique_keys


def _unprovable(table: Table, index: Index) -> str:
    """Why no duplicate of ``index`` can be built by assigning columns ('' when one can), e.g. an expression key part."""
    unknown = [str(part) for part, column in zip(index.columns, index.column_names) if table.column(column) is None]
    if unknown:
        return f"key part {', '.join(unknown)} is not a column (an expression)"
    generated = {column.name for column in table.columns if column.generated}
    computed = [column for column in index.column_names if column in generated]
    if computed:
        return f"key column {', '.join(computed)} is generated and cannot be assigned"
    return ""


def _nullable(table: Table, columns: Sequence[str]) -> Tuple[str, ...]:
    """The columns (of a key) that accept NULL."""
    return tuple(column for column in columns if column in {c.name for c in table.columns if c.nullable})


# --------------------------------------------------------------------------
# Running probes
# --------------------------------------------------------------------------

def _run(code: str, name: str, subject: str, probe: Callable[[CheckResult], None]) -> CheckResult:
    """One CheckResult: the probe fills it; a server error fails it with one line, a lost connection stops all."""
    result = CheckResult(code, name, False, subject=subject)
    started = time.perf_counter()
    try:
        probe(result)
    except MySQLError as exc:
        code = error_code(exc)
        if code in (CR_SERVER_GONE, CR_SERVER_LOST):
            raise SchemagateError(f"Lost the connection to the server during the integrity check: {error_text(exc)}") from None
        result.passed = False
        result.message = _error_message(exc)
    except SchemagateError as exc:  # an identifier that cannot be quoted safely
        result.passed = False
        result.message = f"cannot probe: {exc.message}"
    result.seconds = time.perf_counter() - started
    return result


def _error_message(exc: BaseException) -> str:
    code = error_code(exc)
    if code == ER_LOCK_WAIT_TIMEOUT:
        return f"a probe waited too long for a lock ({error_text(exc)}): another session holds locks on the clone; rerun when it is idle"
    if code == ER_LOCK_DEADLOCK:
        return f"a probe deadlocked with another session ({error_text(exc)}): rerun when the clone is idle"
    return f"probe failed: {error_text(exc)}"


@contextmanager
def _probe_session(cur: Any, lock_wait_seconds: int) -> Iterator[None]:
    """Session settings every probe relies on, restored afterwards.

    Short lock waits so a probe never hangs behind another session; key checks on,
    whatever the caller had (a seeding session may have turned them off); UTC so
    TIMESTAMP values read back and written again are the same instants.
    """
    cur.execute("SELECT " + ", ".join(f"@@SESSION.{name}" for name in _SESSION_SETTINGS))
    saved = tuple(cur.fetchone())
    cur.execute(
        "SET SESSION innodb_lock_wait_timeout = %s, lock_wait_timeout = %s, foreign_key_checks = 1, unique_checks = 1, "
        "time_zone = '+00:00'",
        (lock_wait_seconds, lock_wait_seconds),
    )
    try:
        yield
    finally:
        try:
            cur.execute("SET SESSION " + ", ".join(f"{name} = %s" for name in _SESSION_SETTINGS), saved)
        except MySQLError:
            pass  # the connection is gone, and its session with it; the error that ended the check is reported


@contextmanager
def _rolled_back(cur: Any) -> Iterator[None]:
    """Everything inside is undone, whatever happens."""
    cur.execute("START TRANSACTION")
    try:
        yield
    finally:
        cur.execute("ROLLBACK")


# --------------------------------------------------------------------------
# SQL fragments (identifiers come from the catalog and are quoted)
# --------------------------------------------------------------------------

def _table(database: str, table: str) -> str:
    return f"{quote_identifier(database, 'database name')}.{quote_identifier(table, 'table name')}"


def _columns(columns: Sequence[str], alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + quote_identifier(column, "column name") for column in columns)


def _equal(columns: Sequence[str], operator: str = "=") -> str:
    return " AND ".join(f"{quote_identifier(column, 'column name')} {operator} %s" for column in columns)


def _not_null(columns: Sequence[str], alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return " AND ".join(f"{prefix}{quote_identifier(column, 'column name')} IS NOT NULL" for column in columns)


def _null(columns: Sequence[str]) -> str:
    return " AND ".join(f"{quote_identifier(column, 'column name')} IS NULL" for column in columns)


def _assign(columns: Sequence[str]) -> str:
    return ", ".join(f"{quote_identifier(column, 'column name')} = %s" for column in columns)


def _in_rows(columns: Sequence[str], rows: Sequence[Tuple[Any, ...]]) -> Tuple[str, List[Any]]:
    """``(a, b) IN ((%s, %s), ...)`` and its flat parameters."""
    if len(columns) == 1:
        return f"{quote_identifier(columns[0], 'column name')} IN ({', '.join(['%s'] * len(rows))})", [row[0] for row in rows]
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    return f"({_columns(columns)}) IN ({', '.join([one] * len(rows))})", [value for row in rows for value in row]


def _scalar(cur: Any, sql: str, params: Sequence[Any] = ()) -> Any:
    cur.execute(sql, tuple(params))
    return cur.fetchone()[0]


def _show(columns: Sequence[str], values: Sequence[Any]) -> str:
    """'(id)=(12)', "(branch_id)=('9f1c...')": a row's key for messages."""
    shown = ["NULL" if value is None else repr(value) if isinstance(value, str) else str(value) for value in values]
    return f"({', '.join(columns)})=({', '.join(shown)})"


def _rows(count: int, table: str) -> str:
    return f"{count} {table} row{'' if count == 1 else 's'}"


# --------------------------------------------------------------------------
# a. ON DELETE rules
# --------------------------------------------------------------------------

def _prove_fk_rule(cur: Any, database: str, child: Table, fk: ForeignKey, deletes: "_ParentDeletes", result: CheckResult) -> None:
    if fk.on_delete not in PROVABLE_RULES:
        result.message = f"ON DELETE {fk.on_delete} is not enforced by InnoDB: declare CASCADE, SET NULL or RESTRICT"
        return
    candidates = _parents_with_children(cur, database, child, fk)
    if not candidates:
        result.message = (
            f"no parent row with children: no {child.name} row references a {fk.references} row through ({', '.join(fk.columns)}); "
            "seed more data"
        )
        result.figures["no_data"] = True  # unobserved for want of rows, not broken
        return
    blockers: List[str] = []
    for tried, values in enumerate(candidates, 1):
        outcome = deletes.outcome(child, fk, values)
        if outcome.verdict == RETRY:
            result.details.append(f"{fk.references} {_show(fk.ref_columns, values)}: {outcome.message}")
            blockers.append(outcome.blocker)
            continue
        result.passed = outcome.verdict == PROVEN
        result.message = outcome.message
        result.figures = {**outcome.figures, "candidates_tried": tried}
        return
    result.figures = {"candidates_tried": len(candidates)}
    named = sorted({blocker for blocker in blockers if blocker})
    if named and all(blockers):
        # Another key's RESTRICT rule refused the delete: that rule holds, which is what the schema promises.
        result.passed = True
        result.message = (
            f"every delete of a {fk.references} row is refused by the RESTRICT rule of {', '.join(named)} "
            f"({len(candidates)} rows tried): that rule holds, so ON DELETE {fk.on_delete} of this key cannot act"
        )
        result.warning = f"ON DELETE {fk.on_delete} not observed: {', '.join(named)} restricts the delete first"
    else:
        result.message = f"no candidate could show the rule ({len(candidates)} rows of {fk.references} tried): see details; seed more data"


def _parents_with_children(cur: Any, database: str, child: Table, fk: ForeignKey) -> List[Tuple[Any, ...]]:
    """The first few referenced key values that have both a parent row and children, in key order.

    STRAIGHT_JOIN + GROUP BY walk the child's FK index in order and stop after
    a few groups; DISTINCT or a parent-first plan would scan the whole table.
    """
    join = " AND ".join(
        f"p.{quote_identifier(parent, 'column name')} = c.{quote_identifier(column, 'column name')}"
        for column, parent in zip(fk.columns, fk.ref_columns)
    )
    columns = _columns(fk.columns, "c")
    cur.execute(
        f"SELECT {columns} FROM {_table(database, child.name)} AS c STRAIGHT_JOIN {_table(database, fk.references)} AS p ON {join} "
        f"GROUP BY {columns} ORDER BY {columns} LIMIT {PARENT_CANDIDATES}"
    )
    return [tuple(row) for row in cur.fetchall()]


@dataclass
class _Children:
    """A foreign key's children of one parent row, seen before the parent is deleted."""

    count: int
    sample: List[Tuple[Any, ...]]  # their primary keys (up to CHILD_SAMPLE), to follow them through the delete
    nulls_before: int = 0  # without a primary key: rows of the child table whose key columns are all NULL


class _ParentDeletes:
    """Deletes of parent rows, each observed for every foreign key onto that parent, so no row is deleted twice.

    Deleting a company cascades through much of the schema and takes seconds on
    production volume; eight foreign keys reference companies, and one delete
    (and one rollback) of a company shows all eight rules.
    """

    def __init__(self, cur: Any, database: str, foreign_keys: Sequence[DeclaredForeignKey]) -> None:
        self.cur = cur
        self.database = database
        self.onto: Dict[Tuple[str, Tuple[str, ...]], List[DeclaredForeignKey]] = {}
        for child, fk in foreign_keys:
            self.onto.setdefault((fk.references, fk.ref_columns), []).append((child, fk))
        self.seen: Dict[Tuple[str, Tuple[str, ...], Tuple[Any, ...]], Dict[str, _Outcome]] = {}

    def outcome(self, child: Table, fk: ForeignKey, values: Tuple[Any, ...]) -> _Outcome:
        key = (fk.references, fk.ref_columns, values)
        if key not in self.seen:
            self.seen[key] = self._delete(self.onto[(fk.references, fk.ref_columns)], values)
        return self.seen[key][_label(child, fk.name)]

    def _delete(self, foreign_keys: List[DeclaredForeignKey], values: Tuple[Any, ...]) -> Dict[str, _Outcome]:
        """Delete one parent row inside a rolled-back transaction; judge each key by its children before and after."""
        cur = self.cur
        parent = foreign_keys[0][1]
        shown = f"{parent.references} {_show(parent.ref_columns, values)}"
        with _rolled_back(cur):
            before = {_label(child, fk.name): self._children(child, fk, values) for child, fk in foreign_keys}
            try:
                cur.execute(f"DELETE FROM {_table(self.database, parent.references)} WHERE {_equal(parent.ref_columns)}", values)
            except MySQLError as exc:
                if error_code(exc) not in (ER_ROW_IS_REFERENCED, ER_ROW_IS_REFERENCED_2):
                    raise  # lock waits and other server errors fail the check with one line (see _run)
                return {
                    _label(child, fk.name): self._refused(child, fk, exc, values, before[_label(child, fk.name)], shown) for child, fk in foreign_keys
                }
            if cur.rowcount < 1:
                gone = _Outcome(RETRY, "the parent row was not found again by its key values")
                return {_label(child, fk.name): gone for child, fk in foreign_keys}
            return {_label(child, fk.name): self._judge(child, fk, values, before[_label(child, fk.name)], shown) for child, fk in foreign_keys}

    def _children(self, child: Table, fk: ForeignKey, values: Tuple[Any, ...]) -> _Children:
        table = _table(self.database, child.name)
        identity = child.row_identity()
        count = _scalar(self.cur, f"SELECT COUNT(*) FROM {table} WHERE {_equal(fk.columns)}", values)
        if not identity:
            return _Children(count, [], _scalar(self.cur, f"SELECT COUNT(*) FROM {table} WHERE {_null(fk.columns)}"))
        self.cur.execute(
            f"SELECT {_columns(identity)} FROM {table} WHERE {_equal(fk.columns)} "
            f"ORDER BY {_columns(identity)} LIMIT {CHILD_SAMPLE}",
            values,
        )
        return _Children(count, [tuple(row) for row in self.cur.fetchall()])

    def _judge(self, child: Table, fk: ForeignKey, values: Tuple[Any, ...], children: _Children, shown: str) -> _Outcome:
        """The parent row is deleted: its children must be gone (CASCADE) or hold NULL (SET NULL)."""
        cur = self.cur
        table = _table(self.database, child.name)
        rows = _rows(children.count, child.name)
        if not children.count:
            return _Outcome(RETRY, f"it has no {child.name} children")
        if fk.on_delete == RESTRICT:
            return _Outcome(FAILED, f"deleting {shown} succeeded although {rows} reference it: RESTRICT is not enforced")
        still = _scalar(cur, f"SELECT COUNT(*) FROM {table} WHERE {_equal(fk.columns)}", values)
        if still:
            return _Outcome(FAILED, f"{_rows(still, child.name)} still reference deleted {shown}: {fk.on_delete} is not enforced")
        if children.sample:
            where, params = _in_rows(child.row_identity(), children.sample)
            survivors = _scalar(cur, f"SELECT COUNT(*) FROM {table} WHERE {where}", params)
            nulled = _scalar(cur, f"SELECT COUNT(*) FROM {table} WHERE ({where}) AND {_null(fk.columns)}", params)
        else:  # no primary key to follow rows by: count the rows whose key columns are all NULL
            nulled = _scalar(cur, f"SELECT COUNT(*) FROM {table} WHERE {_null(fk.columns)}") - children.nulls_before
            survivors = nulled
        columns = ", ".join(fk.columns)
        if fk.on_delete == CASCADE:
            if survivors:
                return _Outcome(
                    FAILED,
                    f"deleting {shown} left {survivors} of its {rows} in place ({nulled} with ({columns}) set to NULL): "
                    "CASCADE should delete them",
                )
            return _Outcome(PROVEN, f"deleting {shown} deleted its {rows} (rolled back)", {"children": children.count, "children_deleted": children.count})
        if not survivors:
            return _Outcome(RETRY, f"its {rows} were deleted by another cascade path, so SET NULL cannot be seen")
        if nulled < survivors:
            return _Outcome(FAILED, f"deleting {shown} left {survivors - nulled} of its {rows} with a non-NULL ({columns}): SET NULL should clear them")
        figures = {"children": children.count, "children_set_null": nulled}
        if children.sample:
            figures["children_followed"] = len(children.sample)
        return _Outcome(PROVEN, f"deleting {shown} set ({columns}) to NULL on its {rows} (rolled back)", figures)

    def _refused(self, child: Table, fk: ForeignKey, exc: BaseException, values: Tuple[Any, ...], children: _Children, shown: str) -> _Outcome:
        """The server refused the delete: the proof of RESTRICT if this key refused it, else a blocked candidate."""
        code = error_code(exc)
        match = _REFUSING_CONSTRAINT.search(str(exc.args[1]) if len(exc.args) > 1 else str(exc))
        refusing = f"{match.group(1)}.{match.group(2)}" if match else ""
        if refusing != _label(child, fk.name):
            return _Outcome(RETRY, f"blocked by {refusing or error_text(exc)}", blocker=refusing or error_text(exc))
        if fk.on_delete != RESTRICT:
            return _Outcome(FAILED, f"deleting {shown} was refused by this key although it declares {fk.on_delete}: {error_text(exc)}")
        untouched = _scalar(self.cur, f"SELECT COUNT(*) FROM {_table(self.database, child.name)} WHERE {_equal(fk.columns)}", values)
        parent_kept = _scalar(
            self.cur, f"SELECT COUNT(*) FROM {_table(self.database, fk.references)} WHERE {_equal(fk.ref_columns)}", values
        )
        if untouched != children.count or not parent_kept:
            return _Outcome(FAILED, f"deleting {shown} was refused with error {code} but rows changed ({untouched} of {children.count} children left)")
        return _Outcome(
            PROVEN,
            f"deleting {shown} was refused with error {code}; its {_rows(children.count, child.name)} stayed untouched",
            {"children": children.count, "children_untouched": untouched},
        )


# --------------------------------------------------------------------------
# b. Orphans
# --------------------------------------------------------------------------

def _count_orphans(cur: Any, database: str, child: Table, fk: ForeignKey, result: CheckResult) -> None:
    """Child rows whose FK columns are all non-NULL (MATCH SIMPLE: only those are checked) and match no parent row."""
    join = " AND ".join(
        f"p.{quote_identifier(parent, 'column name')} = c.{quote_identifier(column, 'column name')}"
        for column, parent in zip(fk.columns, fk.ref_columns)
    )
    source = (
        f"FROM {_table(database, child.name)} AS c LEFT JOIN {_table(database, fk.references)} AS p ON {join} "
        f"WHERE {_not_null(fk.columns, 'c')} AND p.{quote_identifier(fk.ref_columns[0], 'column name')} IS NULL"
    )
    orphans = _scalar(cur, f"SELECT COUNT(*) {source}")
    result.figures = {"orphans": orphans}
    target = f"{fk.references} ({', '.join(fk.ref_columns)})"
    if not orphans:
        result.passed = True
        result.message = f"no orphans: every non-NULL ({', '.join(fk.columns)}) of {child.name} has its parent row in {target}"
        return
    cur.execute(f"SELECT DISTINCT {_columns(fk.columns, 'c')} {source} ORDER BY {_columns(fk.columns, 'c')} LIMIT {ORPHAN_EXAMPLES}")
    result.details = [f"{_show(fk.columns, row)} has no parent row in {target}" for row in cur.fetchall()]
    result.message = (
        f"{fk.name}: {orphans} orphan row{'' if orphans == 1 else 's'} in {child.name} whose ({', '.join(fk.columns)}) "
        f"matches no {target} row; delete or repair them (rows loaded with foreign_key_checks=0 are never checked)"
    )


# --------------------------------------------------------------------------
# c. Unique keys
# --------------------------------------------------------------------------

def _prove_unique(cur: Any, database: str, table: Table, index: Index, result: CheckResult) -> None:
    unprovable = _unprovable(table, index)
    if unprovable:
        result.passed = True
        result.message = f"not proven: {unprovable}"
        result.warning = f"{index.name} was not probed: {unprovable}"
        return
    _prove_duplicate_rejected(cur, database, table, index, result)
    if _nullable(table, index.column_names) and result.passed:
        warning, demonstrated = _null_bypass(cur, database, table, index)
        result.figures["null_duplicate_accepted"] = demonstrated
        result.warning = "; ".join(part for part in (result.warning, warning) if part)


def _prove_duplicate_rejected(cur: Any, database: str, table: Table, index: Index, result: CheckResult) -> None:
    """Give a second row the key of a first (all key columns non-NULL) and expect error 1062 naming this key."""
    quoted = _table(database, table.name)
    key_columns, row_identity = index.column_names, table.row_identity()
    identity = row_identity or key_columns  # without a primary key, rows with a non-NULL key are found by it
    columns = ", ".join(key_columns)
    with _rolled_back(cur):
        cur.execute(
            f"SELECT {_columns(identity)}, {_columns(key_columns)} FROM {quoted} WHERE {_not_null(key_columns)} "
            f"ORDER BY {_columns(key_columns)} LIMIT {1 + SECOND_ROWS}"
        )
        rows = [tuple(row) for row in cur.fetchall()]
        if not rows:
            empty = not _scalar(cur, f"SELECT COUNT(*) FROM (SELECT 1 FROM {quoted} LIMIT 1) AS any_row")
            result.message = (
                f"no seeded row to prove {index.name}: seed more data"
                if empty
                else f"no seeded row to prove {index.name}: none has all of ({columns}) non-NULL; seed one with {', '.join(_nullable(table, key_columns))} set"
            )
            result.figures["no_data"] = True  # unobserved for want of rows, not broken
            return
        source_id, source_key = rows[0][: len(identity)], rows[0][len(identity):]
        if row_identity:
            # Rows that already share most of the key come first: only the columns that really change are
            # updated, so a key column other tables reference (a tenant's org_id) is not touched when it agrees.
            agreement = " + ".join(f"({_columns([c])} <=> %s)" for c in key_columns)
            cur.execute(
                f"SELECT {_columns(identity)} FROM {quoted} WHERE NOT ({_equal(identity)}) "
                f"ORDER BY {agreement} DESC, {_columns(identity)} LIMIT {SECOND_ROWS}",
                tuple(source_id) + tuple(source_key),
            )
            targets = [tuple(row) for row in cur.fetchall()]
            pair = _agreeing_pair(cur, quoted, identity, key_columns)
            if pair is not None:
                source_id, source_key, first = pair
                targets = [first] + [t for t in targets if t != first and t != source_id][: SECOND_ROWS - 1]
        else:
            targets = [row[: len(identity)] for row in rows[1:]]
        if not targets:
            result.message = f"only one seeded row in {table.name}: seed a second one to prove {index.name}"
            return
        outcomes: List[str] = []
        implied_by: List[str] = []
        for target in targets:
            try:
                cur.execute(f"UPDATE {quoted} SET {_assign(key_columns)} WHERE {_equal(identity)}", source_key + target)
            except MySQLError as exc:
                if error_code(exc) != ER_DUP_ENTRY:
                    if error_code(exc) in (ER_LOCK_WAIT_TIMEOUT, ER_LOCK_DEADLOCK):
                        raise
                    outcomes.append(f"{_show(identity, target)}: {error_text(exc)}")
                    continue
                hit = _duplicate_key_name(exc, table.name)
                if hit == index.name:
                    result.passed = True
                    result.message = (
                        f"giving {table.name} row {_show(identity, target)} the ({columns}) of row {_show(identity, source_id)} "
                        f"was rejected with error {ER_DUP_ENTRY} (rolled back)"
                    )
                    result.figures = {"rows_tried": len(outcomes) + 1}
                    return
                outcomes.append(f"{_show(identity, target)}: collided with {hit or 'another key'} first")
                other = table.index(hit)
                if other is not None and other.unique and set(other.column_names) <= set(key_columns):
                    implied_by.append(hit)  # that key's columns are a subset of this one's: it always fires first
                continue
            result.message = (
                f"giving {table.name} row {_show(identity, target)} the ({columns}) of row {_show(identity, source_id)} "
                f"was accepted: {index.name} does not reject duplicates"
            )
            return
    result.details = outcomes
    result.figures = {"rows_tried": len(targets)}
    if len(implied_by) == len(targets):
        result.passed = True
        result.message = f"a duplicate of ({columns}) is always rejected by {implied_by[0]} first"
        result.warning = f"{index.name} is implied by {implied_by[0]}, whose columns it contains: it never rejects anything itself"
        return
    result.message = f"no duplicate of ({columns}) could be made in {table.name} ({len(targets)} rows tried): see details"


_Pair = Tuple[Tuple[Any, ...], Tuple[Any, ...], Tuple[Any, ...]]


def _agreeing_pair(cur: Any, quoted: str, identity: Sequence[str], key_columns: Sequence[str]) -> Optional[_Pair]:
    """Two rows equal on every key column but the last: the source's identity and key, and the target's identity.

    Giving the target the source's key then changes only the last column, never a column other tables
    reference through a composite key (a tenant-scoped (org_id, id), say), so the update reaches the unique check.
    """
    if len(key_columns) < 2:
        return None
    agree = " AND ".join(f"a.{quote_identifier(c)} = b.{quote_identifier(c)}" for c in key_columns[:-1])
    same_row = " AND ".join(f"a.{quote_identifier(c)} <=> b.{quote_identifier(c)}" for c in identity)
    cur.execute(
        f"SELECT {_columns(identity, 'a')}, {_columns(key_columns, 'a')}, {_columns(identity, 'b')} FROM {quoted} a "
        f"JOIN {quoted} b ON {agree} AND NOT ({same_row}) WHERE {_not_null(key_columns, 'a')} LIMIT 1"
    )
    row = cur.fetchone()
    if row is None:
        return None
    width, keys = len(identity), len(key_columns)
    return tuple(row[:width]), tuple(row[width:width + keys]), tuple(row[width + keys:])


def _null_bypass(cur: Any, database: str, table: Table, index: Index) -> Tuple[str, bool]:
    """The warning for a key with nullable columns, demonstrated when possible: two rows, same key, NULL inside."""
    key_columns, identity = index.column_names, table.row_identity()
    nullable = _nullable(table, key_columns)
    warning = f"rows with NULL in ({', '.join(nullable)}) are not protected by {index.name}: NULLs never collide"
    if not identity:
        return f"{warning} (not demonstrated: {table.name} has no primary key to pick a second row by)", False
    quoted = _table(database, table.name)
    with _rolled_back(cur):
        any_null = " OR ".join(f"{quote_identifier(column, 'column name')} IS NULL" for column in nullable)
        cur.execute(
            f"SELECT {_columns(identity)}, {_columns(key_columns)} FROM {quoted} WHERE {any_null} ORDER BY {_columns(identity)} LIMIT 1"
        )
        row = cur.fetchone()
        if row is None:
            return f"{warning} (not demonstrated: no seeded row has a NULL there)", False
        source_id, source_key = tuple(row[: len(identity)]), tuple(row[len(identity):])
        cur.execute(
            f"SELECT {_columns(identity)} FROM {quoted} WHERE NOT ({_equal(identity)}) ORDER BY {_columns(identity)} LIMIT {SECOND_ROWS}",
            source_id,
        )
        for target in [tuple(r) for r in cur.fetchall()]:
            try:
                cur.execute(f"UPDATE {quoted} SET {_assign(key_columns)} WHERE {_equal(identity)}", source_key + target)
            except MySQLError as exc:
                if error_code(exc) in (ER_LOCK_WAIT_TIMEOUT, ER_LOCK_DEADLOCK):
                    raise
                continue  # e.g. another unique key collided: try the next row
            twins = _scalar(cur, f"SELECT COUNT(*) FROM {quoted} WHERE {_equal(key_columns, '<=>')}", source_key)
            if twins >= 2:
                same = [c for c, v in zip(key_columns, source_key) if v is not None]
                nulls = [c for c, v in zip(key_columns, source_key) if v is None]
                return (
                    f"{warning}, so two {table.name} rows with the same ({', '.join(same)}) and NULL {', '.join(nulls)} "
                    f"were both accepted (row {_show(identity, target)} given the key of row {_show(identity, source_id)}, rolled back)",
                    True,
                )
    return f"{warning} (not demonstrated: no second row could take the key of a row with NULL there)", False


def _duplicate_key_name(exc: BaseException, table: str) -> str:
    """The key a 1062 names, without MySQL 8's 'table.' prefix."""
    match = _DUPLICATE_KEY.search(str(exc.args[1]) if len(exc.args) > 1 else str(exc))
    if not match:
        return ""
    name = match.group(1)
    return name[len(table) + 1:] if name.startswith(f"{table}.") else name
