"""What each ALTER of a pre-existing table will do on production, found on the engine, measured and scaled.

For every statement that alters a table production already has, on copies of
production's tables (on any server: the functions take a connection to the one
holding the copies, so a separate rehearsal server plugs in):

1. **Lock level and algorithm (OD101).** On an empty copy with production's table
   options, the statement is tried with ``ALGORITHM=INSTANT``, then ``NOCOPY``
   (MariaDB), ``INPLACE, LOCK=NONE``, ``INPLACE, LOCK=SHARED``, ... ``COPY``
   (``dialect.alter_ladder``). ``ALGORITHM=X`` means "X or better" and a refusal
   (1845/1846) returns at once and touches nothing, so the first accepted rung is
   what the engine does; a changed InnoDB TABLE_ID tells an in-place *rebuild* from
   an in-place change. Production's ``alter_algorithm`` / ``old_alter_table`` are
   mirrored on the session, and what cannot be mirrored (the global
   ``innodb_instant_alter_column_allowed``, MySQL's row versions) is applied to the
   answer and said. A statement's own ALGORITHM/LOCK clause the engine would refuse
   fails OD102. A probe that cannot get its metadata lock within lock_wait_timeout
   fails OD104 naming the transactions that hold the table.
2. **Duration and write stall (OD103).** On a second copy holding the seeded rows,
   the statement runs with that algorithm while a second connection writes to the
   table; the longest write and the writes completed are recorded. The duration is
   scaled to production's size (information_schema.TABLES on production) with the
   model stated in the report: constant for instant changes, linear in rows for an
   in-place change that builds an index, linear in data+index bytes for a rebuild
   or a copy.
3. **Policy (PL101).** A statement that copies the table or blocks writes, on a
   table above ``threshold_rows`` rows or ``threshold_bytes`` bytes, blocks unless
   it is annotated ``-- schemagate:allow PL101 <reason>`` or
   ``-- schemagate:alter-wrapper <reason>`` with an alter wrapper configured.
"""
from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ..core.annotations import wants_alter_wrapper
from ..core.bookkeeping import MARKER_TABLE
from ..core.check_registry import Severity
from ..core.checks import CheckResult
from ..core.connection import MySQLError, error_code, error_text, quote_identifier
from ..core.dialect import AlterAttempt, ServerInfo
from ..core.errors import SchemagateError
from ..core.scratch import create_scratch, drop_scratch, scratch_name
from ..core.server_errors import ER_LOCK_WAIT_TIMEOUT
from ..core.sql_parse import (
    ADD_COLUMN, ALTER_TABLE, CHANGE_COLUMN, CREATE_INDEX, DROP_COLUMN, DROP_INDEX_STATEMENT, MODIFY_COLUMN, NAME,
    NOT_UNDERSTOOD, OP, OTHER_DDL, PARTITION_MANAGEMENT, SESSION, WORD, CannotRewrite, with_algorithm,
)
from ..migrate.locks import describe_open_transactions
from .findings import finding
from .statement_walk import Catalog, Step, TableState, altered_preexisting_tables, read_catalog, walk

ALGORITHM_RANK = {"COPY": 0, "INPLACE": 1, "NOCOPY": 2, "INSTANT": 3}
INSTANT, IN_PLACE, REBUILD, COPY = "instant", "in-place, no rebuild", "in-place rebuild", "copy"
MODELS = {
    INSTANT: "constant: only metadata changes, independent of the table's size",
    IN_PLACE: "linear in rows: every row is read to build the change (an index), the table is not rewritten",
    REBUILD: "linear in data+index bytes: every row is rewritten in place",
    COPY: "linear in data+index bytes: every row is copied into a new table",
}


@dataclass(frozen=True)
class ProbeSettings:
    lock_wait_timeout: int = 2  # seconds a statement on the copy waits for its metadata lock
    measure: bool = True  # run each statement on the seeded copy with a concurrent writer
    writer_interval: float = 0.005  # seconds between the writer's statements (pacing, not synchronisation)
    max_copy_rows: int = 200_000  # seeded rows copied per table into the measuring copy
    threshold_rows: int = 1_000_000  # PL101: a table this large may not be copied or write-locked...
    threshold_bytes: int = 1 << 30  # ... nor this large (data + index bytes)
    alter_wrapper: bool = False  # the deploy has an alter wrapper: an annotated statement passes PL101


@dataclass
class Copies:
    """The scratch databases the probe works in, on the server holding the copy."""

    source: str  # production's structure (and seeded rows), e.g. the rehearsal copy before migrating
    probe: str  # empty tables: the algorithm ladder
    measure: Optional[str]  # seeded rows: duration and write stall
    run_id: str
    scratch_base: str  # the production database name the scratch names derive from
    tables: List[str] = field(default_factory=list)  # tables with rows in the measuring copy
    copied_rows: Dict[str, int] = field(default_factory=dict)


@dataclass
class Prediction:
    """What the engine does with one statement, and what that means on production."""

    migration: str
    line: int
    table: str
    statement: str
    algorithm: str = ""
    lock: str = ""
    kind: str = ""  # INSTANT, IN_PLACE, REBUILD or COPY: what production will do
    engine_kind: str = ""  # what the copy's server did (differs when production's settings change the answer)
    own_clause_refused: bool = False  # the statement's own ALGORITHM/LOCK would be refused (OD102)
    writes_blocked: bool = False
    attempts: List[Dict[str, str]] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    measured_seconds: Optional[float] = None
    copy_rows: int = 0
    copy_bytes: int = 0
    affected_rows: int = 0
    max_write_stall_seconds: Optional[float] = None
    writes_during: int = 0
    baseline_write_seconds: Optional[float] = None
    production_rows: int = 0
    production_bytes: int = 0
    predicted_seconds: Optional[float] = None
    predicted_write_stall_seconds: Optional[float] = None
    model: str = ""

    def as_dict(self) -> Dict[str, Any]:
        return dict(self.__dict__)


# ------------------------------------------------------------------ copies
def prepare_copies(
    conn: Any,
    source: str,
    scratch_base: str,
    run_id: str,
    measured_tables: Sequence[str],
    production_tables: Mapping[str, Mapping[str, Any]],
    measure: bool = True,
    max_copy_rows: int = 200_000,
) -> Copies:
    """Create the empty probing copy and the seeded measuring copy of ``source`` on ``conn``'s server.

    Structure comes from SHOW CREATE TABLE (``CREATE TABLE ... LIKE`` loses foreign keys, which changes the
    answers); a copy whose row format differs from production's gets production's. The measuring copy holds
    the rows of ``measured_tables`` and of the tables they reference (so a new foreign key validates).
    """
    copies = Copies(source, scratch_name(scratch_base, "ddlp", run_id),
                    scratch_name(scratch_base, "ddlm", run_id) if measure else None, run_id, scratch_base)
    try:
        for target in [copies.probe] + ([copies.measure] if copies.measure else []):
            create_scratch(conn, source, target, run_id)
            _copy_structure(conn, source, target)
            _match_row_formats(conn, target, production_tables)
        if copies.measure:
            _copy_rows(conn, copies, _with_parents(conn, source, measured_tables), max_copy_rows)
    except MySQLError as exc:
        drop_copies(conn, copies)
        raise SchemagateError(f"Preparing the DDL probe's copies of {source!r} failed: {error_text(exc)}") from None
    except SchemagateError:
        drop_copies(conn, copies)
        raise
    return copies


def drop_copies(conn: Any, copies: Copies) -> None:
    for target in (copies.probe, copies.measure):
        if target:
            try:
                drop_scratch(conn, copies.scratch_base, target, copies.run_id)
            except (MySQLError, SchemagateError):
                pass  # a copy that was never made, or a server that went away: nothing of ours to drop


def _base_tables(cur: Any, database: str) -> List[str]:
    cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE' "
                "ORDER BY TABLE_NAME", (database,))
    return [row[0] for row in cur.fetchall() if row[0] != MARKER_TABLE]


def _copy_structure(conn: Any, source: str, target: str) -> None:
    with conn.cursor() as cur:
        names = _base_tables(cur, source)
        cur.execute(f"USE {quote_identifier(target)}")
        cur.execute("SET SESSION foreign_key_checks = 0")  # tables reference each other in any order
        try:
            for name in names:
                cur.execute(f"SHOW CREATE TABLE {quote_identifier(source)}.{quote_identifier(name)}")
                cur.execute(cur.fetchone()[1])
        finally:
            cur.execute("SET SESSION foreign_key_checks = 1")


def _match_row_formats(conn: Any, target: str, production_tables: Mapping[str, Mapping[str, Any]]) -> None:
    with conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME, ROW_FORMAT FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (target,))
        for name, row_format in cur.fetchall():
            wanted = str((production_tables.get(name) or {}).get("row_format") or "").upper()
            if wanted and row_format and wanted != str(row_format).upper() and wanted in ("DYNAMIC", "COMPACT", "REDUNDANT", "COMPRESSED"):
                cur.execute(f"ALTER TABLE {quote_identifier(target)}.{quote_identifier(name)} ROW_FORMAT={wanted}")


def _with_parents(conn: Any, database: str, tables: Sequence[str]) -> List[str]:
    """``tables`` and every table they reference, transitively (parents first is not needed: checks are off)."""
    found = list(tables)
    with conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME, REFERENCED_TABLE_NAME FROM information_schema.KEY_COLUMN_USAGE "
                    "WHERE TABLE_SCHEMA = %s AND REFERENCED_TABLE_SCHEMA = %s AND REFERENCED_TABLE_NAME IS NOT NULL",
                    (database, database))
        edges = cur.fetchall()
    changed = True
    while changed:
        changed = False
        for child, parent in edges:
            if child in found and parent not in found:
                found.append(parent)
                changed = True
    return found


def _copy_rows(conn: Any, copies: Copies, tables: Sequence[str], limit: int) -> None:
    if copies.measure is None:
        return
    with conn.cursor() as cur:
        cur.execute("SET SESSION foreign_key_checks = 0")
        try:
            for table in tables:
                cur.execute(
                    "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s "
                    "AND NOT (EXTRA LIKE '%%VIRTUAL%%' OR EXTRA LIKE '%%STORED%%' OR EXTRA LIKE '%%PERSISTENT%%') "
                    "ORDER BY ORDINAL_POSITION", (copies.source, table))
                columns = ", ".join(quote_identifier(row[0]) for row in cur.fetchall())
                if not columns:
                    continue
                cur.execute(
                    f"INSERT INTO {quote_identifier(copies.measure)}.{quote_identifier(table)} ({columns}) "
                    f"SELECT {columns} FROM {quote_identifier(copies.source)}.{quote_identifier(table)} LIMIT {int(limit)}")
                copies.copied_rows[table] = int(cur.rowcount)
                cur.execute(f"ANALYZE TABLE {quote_identifier(copies.measure)}.{quote_identifier(table)}")
                cur.fetchall()
                copies.tables.append(table)
        finally:
            cur.execute("SET SESSION foreign_key_checks = 1")


# ------------------------------------------------------------------- probe
def probe_migrations(
    conn: Any,
    server: ServerInfo,
    copies: Copies,
    migrations: Sequence[Any],
    production: Mapping[str, Any],
    settings: ProbeSettings,
    connect_another: Optional[Callable[[], Any]] = None,
) -> Tuple[List[CheckResult], List[Prediction]]:
    """Run every pending statement on the copies in order; predict and measure those altering a pre-existing table.

    ``production`` is what the lint step read on production: ``{"tables": {name: {rows, data_bytes, index_bytes,
    row_format, row_versions}}, "variables": {...}}``. ``connect_another`` opens a second connection to the copy's
    server for the concurrent writer (no writer without it).
    """
    catalog = read_catalog(conn, copies.probe, server, exclude=(MARKER_TABLE,))
    _overlay_production(catalog, production)
    steps = walk(migrations, catalog).steps
    variables = dict(production.get("variables") or {})
    results: List[CheckResult] = []
    predictions: List[Prediction] = []
    measuring = copies.measure is not None and settings.measure
    with conn.cursor() as cur:
        cur.execute("SET SESSION lock_wait_timeout = %s", (settings.lock_wait_timeout,))
        for name in server.session_alter_variables:  # what an ALTER without a clause does on production
            if name in variables and variables[name] not in (None, ""):
                cur.execute(f"SET SESSION {name} = %s", (variables[name],))
    server_notes = _variable_notes(conn, server, variables)
    elsewhere = _other_databases(conn, copies)
    stopped = ""
    for step in steps:
        if not stopped:
            outside = _reaches_outside(step, elsewhere)
            if outside:  # never run it here: the copies share a server with other databases (production's, today)
                stopped = f"statement {step.index + 1} of {step.migration.name} {outside}, so it is not run on the copies"
        if stopped:
            if _is_target(step):
                results.append(finding("OD101", step, _subject(step), f"not predicted: {stopped}", severity=Severity.INFO))
            continue
        if not _is_target(step):
            error = _execute_plain(conn, copies.probe, step.statement.sql)
            if measuring and not error:
                measure_error = _execute_plain(conn, copies.measure or "", step.statement.sql)
                if measure_error:
                    measuring = False
            if error:
                stopped = f"statement {step.index + 1} of {step.migration.name} fails on the copy ({error}); the migrate step reports it"
            continue
        outcome = _predict(conn, server, copies, step, variables, settings, server_notes)
        results += outcome.results
        if outcome.prediction is not None:
            predictions.append(outcome.prediction)
        if outcome.stop:
            stopped = outcome.stop
            continue
        if measuring and outcome.prediction is not None:
            ok = _measure(conn, server, copies, step, outcome.prediction, settings, connect_another)
            results.append(_duration_result(step, outcome.prediction))
            if not ok:
                measuring = False
        if outcome.prediction is not None:
            results.append(_policy(step, outcome.prediction, settings))
    return results, predictions


_SERVER_WIDE = ("DATABASE", "SCHEMA", "USER", "ROLE", "GRANT", "REVOKE", "SERVER", "TABLESPACE", "LOGFILE")


def _other_databases(conn: Any, copies: Copies) -> set:
    with conn.cursor() as cur:
        cur.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
        names = {str(row[0]).lower() for row in cur.fetchall()}
    return (names | {copies.source.lower(), copies.scratch_base.lower()}) - {copies.probe.lower(), (copies.measure or "").lower()}


def _reaches_outside(step: Step, databases: set) -> str:
    """Why the statement would act outside the copy's database ('' when it stays inside)."""
    parsed = step.parsed
    if parsed.kind == NOT_UNDERSTOOD:
        return "is not understood"
    if parsed.kind == SESSION and parsed.object_type in ("USE", "SET"):
        text = " ".join(parsed.sql.upper().split())
        if parsed.object_type == "USE" or "GLOBAL" in text or "@@GLOBAL" in text:
            return "changes the database or server settings"
    if parsed.kind == OTHER_DDL and parsed.object_type in _SERVER_WIDE:
        return f"acts on the server ({parsed.object_type})"
    tokens = parsed.tokens
    for index in range(len(tokens) - 2):
        first, dot = tokens[index], tokens[index + 1]
        if first.kind in (WORD, NAME) and dot.kind == OP and dot.value == "." and first.identifier.lower() in databases:
            return f"names database {first.identifier}"
    return ""


def _overlay_production(catalog: Catalog, production: Mapping[str, Any]) -> None:
    """The copy's structure, production's size: rows and bytes are what the prediction scales to."""
    tables = production.get("tables") or {}
    for key, state in catalog.items():
        facts = tables.get(state.name) or tables.get(key) or {}
        state.rows = int(facts.get("rows") or 0)
        state.has_rows = bool(facts.get("has_rows", state.rows > 0))
        state.data_bytes = int(facts.get("data_bytes") or 0)
        state.index_bytes = int(facts.get("index_bytes") or 0)
        state.row_format = str(facts.get("row_format") or state.row_format)
        state.row_versions = int(facts.get("row_versions") or 0)


def _is_target(step: Step) -> bool:
    parsed = step.parsed
    if parsed.kind not in (ALTER_TABLE, CREATE_INDEX, DROP_INDEX_STATEMENT) or parsed.table is None:
        return False
    table = step.table_before(parsed.table.name)
    return table is not None and table.preexisting


def _subject(step: Step) -> str:
    return step.parsed.table.name if step.parsed.table else step.migration.name


def _execute_plain(conn: Any, database: str, sql: str) -> str:
    """Run ``sql`` in ``database``; '' or the error's text."""
    try:
        with conn.cursor() as cur:
            cur.execute(f"USE {quote_identifier(database)}")
            cur.execute(sql)
            while cur.nextset():
                pass
    except MySQLError as exc:
        return error_text(exc)
    return ""


def _table_id(conn: Any, server: ServerInfo, database: str, table: str) -> Optional[int]:
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT TABLE_ID FROM {server.innodb_tables_view} WHERE NAME = %s",
                        (server.innodb_table_name(database, table),))
            row = cur.fetchone()
    except MySQLError:
        return None  # no PROCESS privilege: a rebuild cannot be told from an in-place change
    return int(row[0]) if row else None


@dataclass
class _Outcome:
    results: List[CheckResult]
    prediction: Optional[Prediction]
    stop: str = ""


def _variable_notes(conn: Any, server: ServerInfo, production_variables: Mapping[str, Any]) -> Dict[str, str]:
    """Global variables production has and the copy's server does not (they cannot be set per session)."""
    differences: Dict[str, str] = {}
    with conn.cursor() as cur:
        for name in server.alter_variables:
            if name in server.session_alter_variables or name not in production_variables:
                continue
            try:
                cur.execute(f"SELECT @@GLOBAL.{name}")
                here = cur.fetchone()[0]
            except MySQLError:
                continue
            if str(here).lower() != str(production_variables[name]).lower():
                differences[name] = f"production has {name}={production_variables[name]}, the copy's server {here}"
    return differences


def _predict(conn: Any, server: ServerInfo, copies: Copies, step: Step, variables: Mapping[str, Any],
             settings: ProbeSettings, server_notes: Mapping[str, str]) -> _Outcome:
    parsed = step.parsed
    table = step.table_before(parsed.table.name) if parsed.table is not None else None
    if table is None:  # _is_target chose the step: a pre-existing table it alters
        return _Outcome([], None)
    subject = table.name
    prediction = Prediction(step.migration.name, step.statement.line, table.name, step.statement.summary(200),
                            production_rows=table.rows, production_bytes=table.data_bytes + table.index_bytes)
    if any(s.action == PARTITION_MANAGEMENT for s in parsed.specs):
        error = _execute_plain(conn, copies.probe, parsed.sql)
        prediction.kind, prediction.algorithm, prediction.lock, prediction.writes_blocked = COPY, "COPY", "SHARED", True
        prediction.notes.append("partition management takes no ALGORITHM clause: the partitions it touches are copied")
        result = finding("OD101", step, subject, "partition management: copies the partitions it touches and blocks "
                                                 "writes to them" + (f"; fails on the copy: {error}" if error else ""),
                         figures=prediction.as_dict(), passed=not error, severity=Severity.INFO)
        return _Outcome([result], prediction, f"an earlier statement failed on the copy ({error})" if error else "")
    before_id = _table_id(conn, server, copies.probe, table.name)
    accepted: Optional[AlterAttempt] = None
    refusals: Dict[str, str] = {}
    for rung in server.alter_ladder:
        try:
            sql = with_algorithm(parsed, rung.algorithm, rung.lock)
        except CannotRewrite as exc:
            return _Outcome([finding("OD101", step, subject, f"not predicted: {exc}", severity=Severity.INFO)], None)
        started = time.monotonic()
        try:
            with conn.cursor() as cur:
                cur.execute(f"USE {quote_identifier(copies.probe)}")
                cur.execute(sql)
        except MySQLError as exc:
            code, text = error_code(exc), error_text(exc)
            refusal = server.alter_refusal(code, str(exc.args[1]) if len(exc.args) > 1 else text)
            if refusal is not None:
                prediction.attempts.append({"clause": rung.label, "answer": f"refused: {refusal.text}"})
                refusals[rung.label] = refusal.text
                continue
            if code == ER_LOCK_WAIT_TIMEOUT:
                blockers = describe_open_transactions(conn)
                waited = time.monotonic() - started
                holders = "; ".join(blockers) if blockers else "no open transaction found (LOCK TABLES?)"
                message = (f"waited {waited:.1f} s (lock_wait_timeout={settings.lock_wait_timeout}s) for the metadata lock "
                           f"on {copies.probe}.{table.name} and gave up: {holders}")
                prediction.attempts.append({"clause": rung.label, "answer": f"lock wait timeout: {text}"})
                result = finding("OD104", step, subject, message, details=blockers,
                                 figures={"waited_seconds": round(waited, 3), "blockers": blockers})
                return _Outcome([result], prediction, f"the copy was locked by another session ({'; '.join(blockers)})")
            prediction.attempts.append({"clause": rung.label, "answer": f"failed: {text}"})
            result = finding("OD101", step, subject, f"not predicted: the statement fails on the copy with {rung.label}: "
                                                     f"{text}", severity=Severity.INFO, figures=prediction.as_dict())
            return _Outcome([result], prediction, f"statement {step.index + 1} of {step.migration.name} failed on the copy")
        prediction.attempts.append({"clause": rung.label, "answer": "accepted"})
        accepted = rung
        break
    if accepted is None:
        result = finding("OD101", step, subject, "not predicted: the engine refused every ALGORITHM/LOCK clause",
                         details=list(refusals.values()), severity=Severity.INFO, figures=prediction.as_dict())
        return _Outcome([result], prediction, "a statement could not be run on the copy")
    after_name = _renamed(parsed) or table.name
    after_id = _table_id(conn, server, copies.probe, after_name)
    rebuilt = before_id is not None and after_id is not None and before_id != after_id
    _decide(prediction, server, parsed, table, accepted, rebuilt, before_id is None or after_id is None, variables,
            server_notes)
    results = [finding("OD101", step, subject, _describe(prediction), figures=prediction.as_dict(), passed=True)]
    clause = _explicit_clause(step, prediction, accepted, refusals)
    if clause and not clause[0].passed:
        prediction.own_clause_refused = True
        prediction.notes.append("measured with the clause the engine accepts, not the statement's own")
    return _Outcome(results + clause, prediction)


def _renamed(parsed: Any) -> Optional[str]:
    for spec in parsed.specs:
        if spec.new_table is not None:
            return spec.new_table.name
    return None


def _decide(prediction: Prediction, server: ServerInfo, parsed: Any, table: TableState, accepted: AlterAttempt,
            rebuilt: bool, id_unknown: bool, variables: Mapping[str, Any], server_notes: Mapping[str, str]) -> None:
    """From the accepted rung, the statement's own clause and production's settings: what production will do."""
    algorithm, lock = accepted.algorithm, accepted.lock or "NONE"
    if algorithm == "INSTANT":
        kind = INSTANT
    elif algorithm == "COPY":
        kind = COPY
    elif algorithm == "NOCOPY":
        kind = IN_PLACE
    else:
        kind = REBUILD if rebuilt else IN_PLACE
        if id_unknown:
            prediction.notes.append("rebuild or not is unknown: reading InnoDB's table ids needs the PROCESS privilege")
    own_algorithm, own_lock = parsed.explicit_clause("algorithm"), parsed.explicit_clause("lock")
    if own_algorithm == "COPY":
        algorithm, kind = "COPY", COPY
        lock = "SHARED" if lock == "NONE" else lock
    if own_lock in ("SHARED", "EXCLUSIVE") and own_lock != lock and kind != INSTANT:
        lock = own_lock
    adds_or_drops = any(s.action in (ADD_COLUMN, DROP_COLUMN) for s in parsed.specs)
    reorders = any(s.action in (MODIFY_COLUMN, CHANGE_COLUMN) and s.column is not None and s.column.position
                   for s in parsed.specs)
    if kind in (INSTANT, IN_PLACE) and server.copies_despite_clause(variables) and own_algorithm not in ("INPLACE",):
        algorithm, kind, lock = "COPY", COPY, "SHARED"
        prediction.notes.append("production has alter_algorithm=COPY: MariaDB copies the table even for an instant change "
                                "(give the statement ALGORITHM=INPLACE)")
    if not server.is_mariadb and str(variables.get("old_alter_table", "")).upper() in ("1", "ON") and not own_algorithm:
        algorithm, kind, lock = "COPY", COPY, "SHARED"
        prediction.notes.append("production has old_alter_table=ON: without an ALGORITHM clause MySQL copies the table")
    instant_setting = str(variables.get("innodb_instant_alter_column_allowed", "")).lower()
    if kind == INSTANT and server.is_mariadb and (adds_or_drops or reorders) and instant_setting in ("never", "add_last"):
        last_only = instant_setting == "add_last" and not reorders and all(
            s.action == ADD_COLUMN and s.column is not None and not s.column.position for s in parsed.specs
            if s.action in (ADD_COLUMN, DROP_COLUMN))
        if not last_only:
            algorithm, kind, lock = "INPLACE", REBUILD, "NONE"
            prediction.notes.append(f"production has innodb_instant_alter_column_allowed={instant_setting}: this column "
                                    "change is not instant there but an in-place rebuild")
    row_limit = server.max_row_versions
    if kind == INSTANT and row_limit is not None and adds_or_drops:
        used = table.row_versions
        needed = sum(1 for s in parsed.specs if s.action in (ADD_COLUMN, DROP_COLUMN))
        if used + needed > row_limit:
            algorithm, kind, lock = "INPLACE", REBUILD, "NONE"
            prediction.notes.append(f"production's table has used {used} of {row_limit} row versions: the instant "
                                    "ADD/DROP COLUMN is refused there (4092) and the table is rebuilt in place")
    if parsed.has_partition_clause and kind in (INSTANT, IN_PLACE):
        algorithm, kind, lock = "COPY", COPY, "SHARED"
        prediction.notes.append("a partitioning clause makes the engine copy the table whatever ALGORITHM says")
    prediction.notes += list(server_notes.values())
    prediction.engine_kind = {"INSTANT": INSTANT, "COPY": COPY, "NOCOPY": IN_PLACE}.get(
        accepted.algorithm, REBUILD if rebuilt else IN_PLACE)
    prediction.algorithm, prediction.lock, prediction.kind = algorithm, lock, kind
    prediction.writes_blocked = kind == COPY or lock in ("SHARED", "EXCLUSIVE")
    prediction.model = MODELS[kind]


def _describe(prediction: Prediction) -> str:
    refused = [a["clause"] for a in prediction.attempts if a["answer"].startswith("refused")]
    writes = "writes are BLOCKED for the whole statement" if prediction.writes_blocked else \
        "writes continue (a brief metadata lock at the start and the end)"
    text = f"{prediction.kind}: ALGORITHM={prediction.algorithm}, LOCK={prediction.lock}; {writes}"
    if refused:
        text += f" (refused first: {', '.join(refused)})"
    if prediction.notes:
        text += "; " + "; ".join(prediction.notes)
    return text


def _explicit_clause(step: Step, prediction: Prediction, accepted: AlterAttempt, refusals: Mapping[str, str]) -> List[CheckResult]:
    """OD102: the statement's own ALGORITHM/LOCK must be one the engine accepts, or production refuses the statement."""
    parsed = step.parsed
    own_algorithm, own_lock = parsed.explicit_clause("algorithm"), parsed.explicit_clause("lock")
    if not own_algorithm and not own_lock:
        return []
    problems = []
    if own_algorithm and own_algorithm in ALGORITHM_RANK and own_algorithm != "COPY" \
            and ALGORITHM_RANK[own_algorithm] > ALGORITHM_RANK.get(accepted.algorithm, 0):
        answer = next((text for clause, text in refusals.items() if clause.startswith(f"ALGORITHM={own_algorithm}")), "")
        problems.append(f"ALGORITHM={own_algorithm} is refused by the engine (it can do {accepted.algorithm})"
                        + (f": {answer}" if answer else ""))
    if own_lock == "NONE" and (accepted.lock or "NONE") != "NONE" or own_lock == "NONE" and own_algorithm == "COPY":
        problems.append(f"LOCK=NONE is refused (the engine needs LOCK={accepted.lock or 'SHARED'})")
    subject = _subject(step)
    if problems:
        return [finding("OD102", step, subject, "production will refuse the statement: " + "; ".join(problems)
                        + "; remove the clause or change the statement")]
    own = ", ".join(part for part in (own_algorithm and f"ALGORITHM={own_algorithm}", own_lock and f"LOCK={own_lock}") if part)
    return [finding("OD102", step, subject, f"the statement's own clause ({own}) is accepted", passed=True)]


# ----------------------------------------------------------------- measure
class _Writer(threading.Thread):
    """A second session writing to the table while the statement runs: its longest wait is the write stall."""

    def __init__(self, conn: Any, database: str, table: str, key_column: str, key_value: Any, interval: float) -> None:
        super().__init__(daemon=True)
        self.conn, self.interval = conn, interval
        column = quote_identifier(key_column)
        self.sql = f"UPDATE {quote_identifier(database)}.{quote_identifier(table)} SET {column} = {column} WHERE {column} = %s"
        self.value = key_value
        self.samples: List[Tuple[float, float, bool]] = []
        self.ready, self.halt = threading.Event(), threading.Event()
        self.error = ""

    def run(self) -> None:
        failures = 0
        while not self.halt.is_set():
            started = time.monotonic()
            ok = True
            try:
                with self.conn.cursor() as cur:
                    cur.execute(self.sql, (self.value,))
            except MySQLError as exc:  # after an ALTER that renames or drops the column: the statement is over
                ok, self.error = False, error_text(exc)
                failures += 1
            self.samples.append((started, time.monotonic(), ok))
            self.ready.set()
            if failures >= 3:
                return
            self.halt.wait(self.interval)

    def stall_during(self, start: float, end: float) -> Tuple[float, int, Optional[float]]:
        """(longest write overlapping [start, end], writes completed inside it, median write before it)."""
        overlapping = [e - s for s, e, _ok in self.samples if e > start and s < end]
        completed = sum(1 for _s, e, ok in self.samples if ok and start <= e <= end)
        before = [e - s for s, e, ok in self.samples if ok and e <= start]
        return max(overlapping, default=0.0), completed, (statistics.median(before) if before else None)


def _measure(conn: Any, server: ServerInfo, copies: Copies, step: Step, prediction: Prediction, settings: ProbeSettings,
             connect_another: Optional[Callable[[], Any]]) -> bool:
    """Run the statement with the predicted clause on the seeded copy, with a writer; False when the copy diverged."""
    database = copies.measure or ""
    table = prediction.table
    rows, size = _size(conn, database, table)
    prediction.copy_rows, prediction.copy_bytes = rows, size
    sql = _measured_form(step, prediction)
    writer = _start_writer(conn, database, table, settings, connect_another) if rows else None
    started = time.monotonic()
    error = ""
    try:
        with conn.cursor() as cur:
            cur.execute(f"USE {quote_identifier(database)}")
            cur.execute(sql)
            prediction.affected_rows = max(int(cur.rowcount), 0)
    except MySQLError as exc:
        error = error_text(exc)
    ended = time.monotonic()
    if writer is not None:
        writer.halt.set()
        writer.join(timeout=60)
        stall, completed, baseline = writer.stall_during(started, ended)
        prediction.max_write_stall_seconds, prediction.writes_during = round(stall, 4), completed
        prediction.baseline_write_seconds = round(baseline, 5) if baseline is not None else None
        _close(writer.conn)
    if error:
        prediction.notes.append(f"not measured: the seeded rows break it ({error}); production's rows are probed by the "
                                "data step")
        return False
    prediction.measured_seconds = round(ended - started, 4)
    if prediction.affected_rows > 0 and prediction.kind != COPY:
        prediction.notes.append(f"the engine copied {prediction.affected_rows} rows: it is a copy")
        prediction.kind, prediction.algorithm, prediction.writes_blocked = COPY, "COPY", True
        prediction.model = MODELS[COPY]
    _scale(prediction)
    return True


def _measured_form(step: Step, prediction: Prediction) -> str:
    """The statement as production will run it: as written (the session mirrors production's settings), unless
    production's answer differs from the copy server's, then forced to it (COPY, or an in-place rebuild)."""
    parsed = step.parsed
    if prediction.own_clause_refused:
        try:
            return with_algorithm(parsed, prediction.algorithm, None if prediction.kind == INSTANT else prediction.lock)
        except CannotRewrite:
            return parsed.sql
    if prediction.kind == prediction.engine_kind or prediction.kind in (INSTANT, IN_PLACE):
        return parsed.sql
    try:
        if prediction.kind == COPY:
            return with_algorithm(parsed, "COPY", None)
        return with_algorithm(parsed, "INPLACE", "NONE", force=True)
    except CannotRewrite:
        return parsed.sql


def _start_writer(conn: Any, database: str, table: str, settings: ProbeSettings,
                  connect_another: Optional[Callable[[], Any]]) -> Optional[_Writer]:
    if connect_another is None:
        return None
    key = _writer_key(conn, database, table)
    if key is None:
        return None
    other = connect_another()
    writer = _Writer(other, database, table, key[0], key[1], settings.writer_interval)
    writer.start()
    if not writer.ready.wait(timeout=30) or not writer.samples or not writer.samples[0][2]:
        writer.halt.set()
        writer.join(timeout=30)
        _close(other)
        return None
    return writer


def _writer_key(conn: Any, database: str, table: str) -> Optional[Tuple[str, Any]]:
    """A column and value naming one existing row (the primary key's first column, else the first column)."""
    with conn.cursor() as cur:
        cur.execute("SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s "
                    "AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX LIMIT 1", (database, table))
        row = cur.fetchone()
        if row is None:
            cur.execute("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s "
                        "AND EXTRA NOT LIKE '%%GENERATED%%' ORDER BY ORDINAL_POSITION LIMIT 1", (database, table))
            row = cur.fetchone()
        if row is None:
            return None
        column = row[0]
        cur.execute(f"SELECT {quote_identifier(column)} FROM {quote_identifier(database)}.{quote_identifier(table)} "
                    f"WHERE {quote_identifier(column)} IS NOT NULL LIMIT 1")
        value = cur.fetchone()
    return (column, value[0]) if value else None


def _size(conn: Any, database: str, table: str) -> Tuple[int, int]:
    with conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM {quote_identifier(database)}.{quote_identifier(table)}")
        rows = int(cur.fetchone()[0])
        cur.execute("SELECT COALESCE(DATA_LENGTH, 0) + COALESCE(INDEX_LENGTH, 0) FROM information_schema.TABLES "
                    "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s", (database, table))
        found = cur.fetchone()
    return rows, int(found[0]) if found else 0


def _close(conn: Any) -> None:
    try:
        conn.close()
    except MySQLError:
        pass


def scale(kind: str, measured: float, copy_rows: int, copy_bytes: int, production_rows: int,
          production_bytes: int) -> Optional[float]:
    """The duration on production by the model of ``kind`` (MODELS); None when the copy gives nothing to scale."""
    if kind == INSTANT:
        return measured
    if kind == IN_PLACE:
        return measured * production_rows / copy_rows if copy_rows else None
    return measured * production_bytes / copy_bytes if copy_bytes else None


def _scale(prediction: Prediction) -> None:
    if prediction.measured_seconds is None:
        return
    predicted = scale(prediction.kind, prediction.measured_seconds, prediction.copy_rows, prediction.copy_bytes,
                      prediction.production_rows, prediction.production_bytes)
    prediction.predicted_seconds = round(predicted, 3) if predicted is not None else None
    if prediction.writes_blocked:
        prediction.predicted_write_stall_seconds = prediction.predicted_seconds
    else:
        prediction.predicted_write_stall_seconds = prediction.max_write_stall_seconds


def _duration_result(step: Step, prediction: Prediction) -> CheckResult:
    subject = prediction.table
    if prediction.measured_seconds is None:
        return finding("OD103", step, subject, "; ".join(n for n in prediction.notes if n.startswith("not measured"))
                       or "not measured", severity=Severity.INFO, figures=prediction.as_dict())
    stall = prediction.max_write_stall_seconds
    measured = (f"measured {prediction.measured_seconds:.3f} s on {prediction.copy_rows:,} seeded rows "
                f"({_bytes(prediction.copy_bytes)}); longest write during it {stall:.3f} s, "
                f"{prediction.writes_during} writes completed" if stall is not None else
                f"measured {prediction.measured_seconds:.3f} s on {prediction.copy_rows:,} seeded rows "
                f"({_bytes(prediction.copy_bytes)}) without a writer")
    if prediction.predicted_seconds is None:
        predicted = "no prediction: the copy had no rows to scale from"
    else:
        predicted = (f"predicted on production (~{prediction.production_rows:,} rows, {_bytes(prediction.production_bytes)}): "
                     f"{_duration(prediction.predicted_seconds)}"
                     + (", writes blocked all that time" if prediction.writes_blocked else ", writes continue")
                     + f"; model: {prediction.model}")
    return finding("OD103", step, subject, f"{measured}; {predicted}", figures=prediction.as_dict(), passed=True)


def _policy(step: Step, prediction: Prediction, settings: ProbeSettings) -> CheckResult:
    subject = prediction.table
    large = prediction.production_rows >= settings.threshold_rows or prediction.production_bytes >= settings.threshold_bytes
    limits = f"{settings.threshold_rows:,} rows or {_bytes(settings.threshold_bytes)}"
    size = f"~{prediction.production_rows:,} rows, {_bytes(prediction.production_bytes)}"
    figures = {"threshold_rows": settings.threshold_rows, "threshold_bytes": settings.threshold_bytes,
               "production_rows": prediction.production_rows, "production_bytes": prediction.production_bytes,
               "writes_blocked": prediction.writes_blocked, "kind": prediction.kind}
    wrapper = wants_alter_wrapper(step.annotations)
    if wrapper is not None:
        figures["alter_wrapper"] = wrapper.reason
        if settings.alter_wrapper:
            return finding("PL101", step, subject, f"runs through the alter wrapper on deploy ({wrapper.reason or 'annotated'}):"
                                                   " the table is copied in chunks while writes continue", passed=True,
                           figures=figures)
        if prediction.writes_blocked and large:
            return finding("PL101", step, subject, f"annotated for the alter wrapper, but none is configured "
                                                   "(schemagate_alter_wrapper): natively it would block writes on "
                                                   f"{subject} ({size})", figures=figures)
    if not prediction.writes_blocked:
        return finding("PL101", step, subject, f"{prediction.kind}: writes continue ({size})", passed=True, figures=figures)
    if not large:
        return finding("PL101", step, subject, f"{prediction.kind} blocks writes, on {size}: under the threshold ({limits})",
                       passed=True, figures=figures)
    duration = f" for about {_duration(prediction.predicted_seconds)}" if prediction.predicted_seconds is not None else ""
    return finding("PL101", step, subject,
                   f"{prediction.kind} blocks writes on {subject} ({size}, above {limits}){duration}: run it through the "
                   "alter wrapper (-- schemagate:alter-wrapper <reason>), change it to an online form, or accept the "
                   "outage with -- schemagate:allow PL101 <reason>", figures=figures)


def _bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _duration(seconds: Optional[float]) -> str:
    if seconds is None:
        return "unknown"
    if seconds < 120:
        return f"{seconds:.2f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def altered_tables(migrations: Sequence[Any], catalog: Catalog) -> List[str]:
    """The pre-existing tables the pending migrations alter: the ones the measuring copy needs rows of."""
    return altered_preexisting_tables(walk(migrations, catalog).steps)
