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
_PREFIX_PART = re.compile(r"^([A-Za-z0-9_$]+)\((\d+)\)$")


@dataclass(frozen=True)
class ForeignKey:
    table: str  # the child table, which declares the key
    name: str
    columns: Tuple[str, ...]
    parent: str
    parent_columns: Tuple[str, ...]
    on_delete: str  # CASCADE, SET NULL or RESTRICT (NO ACTION is reported as RESTRICT)
    child_identity: Tuple[str, ...] = ()  # the child's primary key, to follow its rows; () if it has none

    @property
    def label(self) -> str:
        return f"{self.table}.{self.name}"


@dataclass(frozen=True)
class UniqueKey:
    table: str
    name: str
    columns: Tuple[str, ...]  # without prefix lengths
    nullable: Tuple[str, ...]  # the key columns that accept NULL
    identity: Tuple[str, ...]  # columns identifying one row (primary key); () if the table has none
    other_keys: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()  # the table's other unique keys, PRIMARY included
    unprovable: str = ""  # why no duplicate can be built, e.g. an expression key part

    @property
    def label(self) -> str:
        return f"{self.table}.{self.name}"


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
        for fk in foreign_keys:
            results.append(_run("IN101", f"fk {fk.label} ON DELETE {fk.on_delete}", fk.label, lambda r, k=fk: _prove_fk_rule(cur, database, k, deletes, r)))
        for fk in foreign_keys:
            results.append(_run("IN102", f"orphans {fk.label}", fk.label, lambda r, k=fk: _count_orphans(cur, database, k, r)))
        for key in unique_keys:
            results.append(_run("IN103", f"unique {key.label}", key.label, lambda r, k=key: _prove_unique(cur, database, k, r)))
    return results


def declared_keys(
    conn: Any, server: ServerInfo, database: str, tables: Optional[Sequence[str]] = None
) -> Tuple[List[ForeignKey], List[UniqueKey]]:
    """The foreign keys declared by, and the UNIQUE keys of, ``tables`` (default: every table), from the catalog."""
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
    foreign_keys: List[ForeignKey] = []
    unique_keys: List[UniqueKey] = []
    for table in sorted(structure):
        spec = structure[table]
        nullable = {column["name"] for column in spec["columns"] if column["nullable"]}
        known = {column["name"] for column in spec["columns"]}
        generated = {column["name"] for column in spec["columns"] if "generated" in (column.get("extra") or "")}
        keys = {index["name"]: index for index in spec["indexes"] if index["unique"]}
        identity = _row_identity(keys, nullable)
        for fk in spec["foreign_keys"]:
            foreign_keys.append(
                ForeignKey(
                    table=table,
                    name=fk["name"],
                    columns=tuple(fk["columns"]),
                    parent=fk["references"],
                    parent_columns=tuple(fk["ref_columns"]),
                    on_delete=fk["on_delete"],
                    child_identity=identity,
                )
            )
        for name, index in sorted(keys.items(), key=lambda item: item[0].lower()):
            if name == "PRIMARY":
                continue
            columns = tuple(_column_of(part) for part in index["columns"])
            unknown = [str(part) for part, column in zip(index["columns"], columns) if column not in known]
            computed = [column for column in columns if column in generated]
            others = tuple((other, tuple(_column_of(p) for p in keys[other]["columns"])) for other in sorted(keys) if other != name)
            unique_keys.append(
                UniqueKey(
                    table=table,
                    name=name,
                    columns=columns,
                    nullable=tuple(column for column in columns if column in nullable),
                    identity=identity,
                    other_keys=others,
                    unprovable=(
                        f"key part {', '.join(unknown)} is not a column (an expression)" if unknown
                        else f"key column {', '.join(computed)} is generated and cannot be assigned" if computed
                        else ""
                    ),
                )
            )
    return foreign_keys, unique_keys


def _row_identity(unique_indexes: Dict[str, Dict[str, Any]], nullable: set) -> Tuple[str, ...]:
    """The primary key, else the first unique key of whole NOT NULL columns (InnoDB's clustered key)."""
    candidates = [unique_indexes["PRIMARY"]] if "PRIMARY" in unique_indexes else []
    candidates += [unique_indexes[name] for name in sorted(unique_indexes) if name != "PRIMARY"]
    for index in candidates:
        parts = index["columns"]
        if all(part is not None and not _PREFIX_PART.match(part) and part not in nullable for part in parts):
            return tuple(parts)
    return ()


def _column_of(key_part: Optional[str]) -> str:
    """'slug(20)' -> 'slug'; an expression key part (no column) -> ''."""
    if key_part is None:
        return ""
    match = _PREFIX_PART.match(key_part)
    return match.group(1) if match else key_part


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

def _prove_fk_rule(cur: Any, database: str, fk: ForeignKey, deletes: "_ParentDeletes", result: CheckResult) -> None:
    if fk.on_delete not in PROVABLE_RULES:
        result.message = f"ON DELETE {fk.on_delete} is not enforced by InnoDB: declare CASCADE, SET NULL or RESTRICT"
        return
    candidates = _parents_with_children(cur, database, fk)
    if not candidates:
        result.message = (
            f"no parent row with children: no {fk.table} row references a {fk.parent} row through ({', '.join(fk.columns)}); "
            "seed more data"
        )
        return
    blockers: List[str] = []
    for tried, values in enumerate(candidates, 1):
        outcome = deletes.outcome(fk, values)
        if outcome.verdict == RETRY:
            result.details.append(f"{fk.parent} {_show(fk.parent_columns, values)}: {outcome.message}")
            blockers.append(outcome.blocker)
            continue
        result.passed = outcome.verdict == PROVEN
        result.message = outcome.message
        result.figures = {**outcome.figures, "candidates_tried": tried}
        return
    result.figures = {"candidates_tried": len(candidates)}
    named = sorted({blocker for blocker in blockers if blocker})
    if named and all(blockers):
        result.message = (
            f"every candidate is blocked by {', '.join(named)} ({len(candidates)} rows of {fk.parent} tried): "
            "a RESTRICT rule further down the cascade refuses the delete; seed a parent whose cascade reaches no restricted rows"
        )
    else:
        result.message = f"no candidate could show the rule ({len(candidates)} rows of {fk.parent} tried): see details; seed more data"


def _parents_with_children(cur: Any, database: str, fk: ForeignKey) -> List[Tuple[Any, ...]]:
    """The first few referenced key values that have both a parent row and children, in key order.

    STRAIGHT_JOIN + GROUP BY walk the child's FK index in order and stop after
    a few groups; DISTINCT or a parent-first plan would scan the whole table.
    """
    join = " AND ".join(
        f"p.{quote_identifier(parent, 'column name')} = c.{quote_identifier(child, 'column name')}"
        for child, parent in zip(fk.columns, fk.parent_columns)
    )
    columns = _columns(fk.columns, "c")
    cur.execute(
        f"SELECT {columns} FROM {_table(database, fk.table)} AS c STRAIGHT_JOIN {_table(database, fk.parent)} AS p ON {join} "
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

    def __init__(self, cur: Any, database: str, foreign_keys: Sequence[ForeignKey]) -> None:
        self.cur = cur
        self.database = database
        self.onto: Dict[Tuple[str, Tuple[str, ...]], List[ForeignKey]] = {}
        for fk in foreign_keys:
            self.onto.setdefault((fk.parent, fk.parent_columns), []).append(fk)
        self.seen: Dict[Tuple[str, Tuple[str, ...], Tuple[Any, ...]], Dict[str, _Outcome]] = {}

    def outcome(self, fk: ForeignKey, values: Tuple[Any, ...]) -> _Outcome:
        key = (fk.parent, fk.parent_columns, values)
        if key not in self.seen:
            self.seen[key] = self._delete(self.onto[(fk.parent, fk.parent_columns)], values)
        return self.seen[key][fk.label]

    def _delete(self, foreign_keys: List[ForeignKey], values: Tuple[Any, ...]) -> Dict[str, _Outcome]:
        """Delete one parent row inside a rolled-back transaction; judge each key by its children before and after."""
        cur = self.cur
        parent = foreign_keys[0]
        shown = f"{parent.parent} {_show(parent.parent_columns, values)}"
        with _rolled_back(cur):
            before = {fk.label: self._children(fk, values) for fk in foreign_keys}
            try:
                cur.execute(f"DELETE FROM {_table(self.database, parent.parent)} WHERE {_equal(parent.parent_columns)}", values)
            except MySQLError as exc:
                if error_code(exc) not in (ER_ROW_IS_REFERENCED, ER_ROW_IS_REFERENCED_2):
                    raise  # lock waits and other server errors fail the check with one line (see _run)
                return {fk.label: self._refused(fk, exc, values, before[fk.label], shown) for fk in foreign_keys}
            if cur.rowcount < 1:
                gone = _Outcome(RETRY, "the parent row was not found again by its key values")
                return {fk.label: gone for fk in foreign_keys}
            return {fk.label: self._judge(fk, values, before[fk.label], shown) for fk in foreign_keys}

    def _children(self, fk: ForeignKey, values: Tuple[Any, ...]) -> _Children:
        child = _table(self.database, fk.table)
        count = _scalar(self.cur, f"SELECT COUNT(*) FROM {child} WHERE {_equal(fk.columns)}", values)
        if not fk.child_identity:
            return _Children(count, [], _scalar(self.cur, f"SELECT COUNT(*) FROM {child} WHERE {_null(fk.columns)}"))
        self.cur.execute(
            f"SELECT {_columns(fk.child_identity)} FROM {child} WHERE {_equal(fk.columns)} "
            f"ORDER BY {_columns(fk.child_identity)} LIMIT {CHILD_SAMPLE}",
            values,
        )
        return _Children(count, [tuple(row) for row in self.cur.fetchall()])

    def _judge(self, fk: ForeignKey, values: Tuple[Any, ...], children: _Children, shown: str) -> _Outcome:
        """The parent row is deleted: its children must be gone (CASCADE) or hold NULL (SET NULL)."""
        cur = self.cur
        child = _table(self.database, fk.table)
        rows = _rows(children.count, fk.table)
        if not children.count:
            return _Outcome(RETRY, f"it has no {fk.table} children")
        if fk.on_delete == RESTRICT:
            return _Outcome(FAILED, f"deleting {shown} succeeded although {rows} reference it: RESTRICT is not enforced")
        still = _scalar(cur, f"SELECT COUNT(*) FROM {child} WHERE {_equal(fk.columns)}", values)
        if still:
            return _Outcome(FAILED, f"{_rows(still, fk.table)} still reference deleted {shown}: {fk.on_delete} is not enforced")
        if children.sample:
            where, params = _in_rows(fk.child_identity, children.sample)
            survivors = _scalar(cur, f"SELECT COUNT(*) FROM {child} WHERE {where}", params)
            nulled = _scalar(cur, f"SELECT COUNT(*) FROM {child} WHERE ({where}) AND {_null(fk.columns)}", params)
        else:  # no primary key to follow rows by: count the rows whose key columns are all NULL
            nulled = _scalar(cur, f"SELECT COUNT(*) FROM {child} WHERE {_null(fk.columns)}") - children.nulls_before
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

    def _refused(self, fk: ForeignKey, exc: BaseException, values: Tuple[Any, ...], children: _Children, shown: str) -> _Outcome:
        """The server refused the delete: the proof of RESTRICT if this key refused it, else a blocked candidate."""
        code = error_code(exc)
        match = _REFUSING_CONSTRAINT.search(str(exc.args[1]) if len(exc.args) > 1 else str(exc))
        refusing = f"{match.group(1)}.{match.group(2)}" if match else ""
        if refusing != fk.label:
            return _Outcome(RETRY, f"blocked by {refusing or error_text(exc)}", blocker=refusing or error_text(exc))
        if fk.on_delete != RESTRICT:
            return _Outcome(FAILED, f"deleting {shown} was refused by this key although it declares {fk.on_delete}: {error_text(exc)}")
        untouched = _scalar(self.cur, f"SELECT COUNT(*) FROM {_table(self.database, fk.table)} WHERE {_equal(fk.columns)}", values)
        parent_kept = _scalar(
            self.cur, f"SELECT COUNT(*) FROM {_table(self.database, fk.parent)} WHERE {_equal(fk.parent_columns)}", values
        )
        if untouched != children.count or not parent_kept:
            return _Outcome(FAILED, f"deleting {shown} was refused with error {code} but rows changed ({untouched} of {children.count} children left)")
        return _Outcome(
            PROVEN,
            f"deleting {shown} was refused with error {code}; its {_rows(children.count, fk.table)} stayed untouched",
            {"children": children.count, "children_untouched": untouched},
        )


# --------------------------------------------------------------------------
# b. Orphans
# --------------------------------------------------------------------------

def _count_orphans(cur: Any, database: str, fk: ForeignKey, result: CheckResult) -> None:
    """Child rows whose FK columns are all non-NULL (MATCH SIMPLE: only those are checked) and match no parent row."""
    join = " AND ".join(
        f"p.{quote_identifier(parent, 'column name')} = c.{quote_identifier(child, 'column name')}"
        for child, parent in zip(fk.columns, fk.parent_columns)
    )
    source = (
        f"FROM {_table(database, fk.table)} AS c LEFT JOIN {_table(database, fk.parent)} AS p ON {join} "
        f"WHERE {_not_null(fk.columns, 'c')} AND p.{quote_identifier(fk.parent_columns[0], 'column name')} IS NULL"
    )
    orphans = _scalar(cur, f"SELECT COUNT(*) {source}")
    result.figures = {"orphans": orphans}
    target = f"{fk.parent} ({', '.join(fk.parent_columns)})"
    if not orphans:
        result.passed = True
        result.message = f"no orphans: every non-NULL ({', '.join(fk.columns)}) of {fk.table} has its parent row in {target}"
        return
    cur.execute(f"SELECT DISTINCT {_columns(fk.columns, 'c')} {source} ORDER BY {_columns(fk.columns, 'c')} LIMIT {ORPHAN_EXAMPLES}")
    result.details = [f"{_show(fk.columns, row)} has no parent row in {target}" for row in cur.fetchall()]
    result.message = (
        f"{fk.name}: {orphans} orphan row{'' if orphans == 1 else 's'} in {fk.table} whose ({', '.join(fk.columns)}) "
        f"matches no {target} row; delete or repair them (rows loaded with foreign_key_checks=0 are never checked)"
    )


# --------------------------------------------------------------------------
# c. Unique keys
# --------------------------------------------------------------------------

def _prove_unique(cur: Any, database: str, key: UniqueKey, result: CheckResult) -> None:
    if key.unprovable:
        result.passed = True
        result.message = f"not proven: {key.unprovable}"
        result.warning = f"{key.name} was not probed: {key.unprovable}"
        return
    _prove_duplicate_rejected(cur, database, key, result)
    if key.nullable and result.passed:
        warning, demonstrated = _null_bypass(cur, database, key)
        result.figures["null_duplicate_accepted"] = demonstrated
        result.warning = "; ".join(part for part in (result.warning, warning) if part)


def _prove_duplicate_rejected(cur: Any, database: str, key: UniqueKey, result: CheckResult) -> None:
    """Give a second row the key of a first (all key columns non-NULL) and expect error 1062 naming this key."""
    table = _table(database, key.table)
    identity = key.identity or key.columns  # without a primary key, rows with a non-NULL key are found by it
    columns = ", ".join(key.columns)
    with _rolled_back(cur):
        cur.execute(
            f"SELECT {_columns(identity)}, {_columns(key.columns)} FROM {table} WHERE {_not_null(key.columns)} "
            f"ORDER BY {_columns(key.columns)} LIMIT {1 + SECOND_ROWS}"
        )
        rows = [tuple(row) for row in cur.fetchall()]
        if not rows:
            empty = not _scalar(cur, f"SELECT COUNT(*) FROM (SELECT 1 FROM {table} LIMIT 1) AS any_row")
            result.message = (
                f"no seeded row to prove {key.name}: seed more data"
                if empty
                else f"no seeded row to prove {key.name}: none has all of ({columns}) non-NULL; seed one with {', '.join(key.nullable)} set"
            )
            return
        source_id, source_key = rows[0][: len(identity)], rows[0][len(identity):]
        if key.identity:
            cur.execute(
                f"SELECT {_columns(identity)} FROM {table} WHERE NOT ({_equal(identity)}) ORDER BY {_columns(identity)} LIMIT {SECOND_ROWS}",
                source_id,
            )
            targets = [tuple(row) for row in cur.fetchall()]
        else:
            targets = [row[: len(identity)] for row in rows[1:]]
        if not targets:
            result.message = f"only one seeded row in {key.table}: seed a second one to prove {key.name}"
            return
        outcomes: List[str] = []
        implied_by: List[str] = []
        for target in targets:
            try:
                cur.execute(f"UPDATE {table} SET {_assign(key.columns)} WHERE {_equal(identity)}", source_key + target)
            except MySQLError as exc:
                if error_code(exc) != ER_DUP_ENTRY:
                    if error_code(exc) in (ER_LOCK_WAIT_TIMEOUT, ER_LOCK_DEADLOCK):
                        raise
                    outcomes.append(f"{_show(identity, target)}: {error_text(exc)}")
                    continue
                hit = _duplicate_key_name(exc, key.table)
                if hit == key.name:
                    result.passed = True
                    result.message = (
                        f"giving {key.table} row {_show(identity, target)} the ({columns}) of row {_show(identity, source_id)} "
                        f"was rejected with error {ER_DUP_ENTRY} (rolled back)"
                    )
                    result.figures = {"rows_tried": len(outcomes) + 1}
                    return
                outcomes.append(f"{_show(identity, target)}: collided with {hit or 'another key'} first")
                other_columns = dict(key.other_keys).get(hit)
                if other_columns and set(other_columns) <= set(key.columns):
                    implied_by.append(hit)  # that key's columns are a subset of this one's: it always fires first
                continue
            result.message = (
                f"giving {key.table} row {_show(identity, target)} the ({columns}) of row {_show(identity, source_id)} "
                f"was accepted: {key.name} does not reject duplicates"
            )
            return
    result.details = outcomes
    result.figures = {"rows_tried": len(targets)}
    if len(implied_by) == len(targets):
        result.passed = True
        result.message = f"a duplicate of ({columns}) is always rejected by {implied_by[0]} first"
        result.warning = f"{key.name} is implied by {implied_by[0]}, whose columns it contains: it never rejects anything itself"
        return
    result.message = f"no duplicate of ({columns}) could be made in {key.table} ({len(targets)} rows tried): see details"


def _null_bypass(cur: Any, database: str, key: UniqueKey) -> Tuple[str, bool]:
    """The warning for a key with nullable columns, demonstrated when possible: two rows, same key, NULL inside."""
    nullable = ", ".join(key.nullable)
    warning = f"rows with NULL in ({nullable}) are not protected by {key.name}: NULLs never collide"
    if not key.identity:
        return f"{warning} (not demonstrated: {key.table} has no primary key to pick a second row by)", False
    table = _table(database, key.table)
    identity = key.identity
    with _rolled_back(cur):
        any_null = " OR ".join(f"{quote_identifier(column, 'column name')} IS NULL" for column in key.nullable)
        cur.execute(
            f"SELECT {_columns(identity)}, {_columns(key.columns)} FROM {table} WHERE {any_null} ORDER BY {_columns(identity)} LIMIT 1"
        )
        row = cur.fetchone()
        if row is None:
            return f"{warning} (not demonstrated: no seeded row has a NULL there)", False
        source_id, source_key = tuple(row[: len(identity)]), tuple(row[len(identity):])
        cur.execute(
            f"SELECT {_columns(identity)} FROM {table} WHERE NOT ({_equal(identity)}) ORDER BY {_columns(identity)} LIMIT {SECOND_ROWS}",
            source_id,
        )
        for target in [tuple(r) for r in cur.fetchall()]:
            try:
                cur.execute(f"UPDATE {table} SET {_assign(key.columns)} WHERE {_equal(identity)}", source_key + target)
            except MySQLError as exc:
                if error_code(exc) in (ER_LOCK_WAIT_TIMEOUT, ER_LOCK_DEADLOCK):
                    raise
                continue  # e.g. another unique key collided: try the next row
            twins = _scalar(cur, f"SELECT COUNT(*) FROM {table} WHERE {_equal(key.columns, '<=>')}", source_key)
            if twins >= 2:
                same = [c for c, v in zip(key.columns, source_key) if v is not None]
                nulls = [c for c, v in zip(key.columns, source_key) if v is None]
                return (
                    f"{warning}, so two {key.table} rows with the same ({', '.join(same)}) and NULL {', '.join(nulls)} "
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
