"""Ask production's rows whether a pending statement will fail on them: read-only, bounded, index-assisted.

For every statement that adds a constraint to a pre-existing table with rows, one
SELECT counts the rows that break it, and one more fetches an example key:

- DP101 a new UNIQUE / PRIMARY KEY over existing duplicates (GROUP BY the key: an index on it is used);
- DP102 NOT NULL over existing NULLs (also the columns of a new PRIMARY KEY);
- DP103 a foreign key over orphans (NOT EXISTS against the parent's key);
- DP104 narrowing over values that will not fit (type_change.misfit_predicate);
- DP105 an ENUM/SET value removed that rows use;
- DP106 a CHECK that rows violate.

The session is read-only and every SELECT is bounded by the server's statement
time limit (dialect.statement_time_limit). A probe that times out says so as a
warning, never as a pass.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..core.check_registry import Severity
from ..core.checks import CheckResult
from ..core.connection import MySQLError, error_code, error_text, quote_identifier
from ..core.dialect import ServerInfo
from ..core.sql_parse import (
    ADD_CHECK, ADD_COLUMN, ADD_FOREIGN_KEY, ADD_INDEX, ALTER_TABLE, CHANGE_COLUMN, CONVERT_CHARSET, CREATE_INDEX, INSERT,
    MODIFY_COLUMN,
    REPLACE, AlterSpec, IndexDef,
)
from .findings import finding
from .statement_walk import ColumnState, Step, TableState, Walk, new_column_state
from .type_change import enum_change, enum_used_predicate, family, loses_characters, misfit_predicate, narrowing


@dataclass
class Probe:
    code: str
    step: Step
    subject: str
    what: str  # "new UNIQUE KEY u (email) on customers"
    offset: int
    count_sql: str = ""  # first column: rows (or groups) that break it
    example_sql: str = ""  # one row: an example key
    example_columns: List[str] = field(default_factory=list)
    index: Optional[str] = None  # the index the probe can use
    skip: str = ""  # why it is not run
    table_rows: int = 0


def plan(walk: Walk, database: str) -> List[Probe]:
    """The probes the pending statements call for, in statement order (pure: no server)."""
    filled_by_deploy = {s.parsed.table.name.lower() for s in walk.steps
                        if s.parsed.kind in (INSERT, REPLACE) and s.parsed.table is not None}
    probes: List[Probe] = []
    for step in walk.steps:
        parsed = step.parsed
        if parsed.kind not in (ALTER_TABLE, CREATE_INDEX) or parsed.table is None:
            continue
        table = step.table_before(parsed.table.name)
        if table is None or not table.preexisting or not table.has_rows:
            continue
        for spec in parsed.specs:
            probes += _spec_probes(step, table, spec, database, filled_by_deploy)
    return probes


def _name(database: str, table: TableState) -> str:
    return f"{quote_identifier(database)}.{quote_identifier(table.production_name or table.name)}"


def _col(column: ColumnState) -> str:
    return quote_identifier(column.production_name or column.name)


def _key_select(table: TableState, extra: Sequence[Tuple[str, str]] = (), alias: str = "") -> Tuple[str, List[str]]:
    """The example key: the primary key's columns (as on production), then ``extra`` (expression, label) pairs."""
    names = []
    for name in table.primary_key:
        column = table.column(name)
        if column is not None and column.production_name:
            names.append(column.production_name)
    exprs = [alias + quote_identifier(n) for n in names] + [e for e, _label in extra]
    return ", ".join(exprs) or "1", names + [label for _e, label in extra]


def _spec_probes(step: Step, table: TableState, spec: AlterSpec, database: str, filled: set) -> List[Probe]:
    probes: List[Probe] = []
    source = _name(database, table)
    if spec.action == ADD_INDEX and spec.index is not None and spec.index.kind in ("unique", "primary"):
        probes += _unique_probes(step, table, spec, spec.index, source)
    if spec.action in (CHANGE_COLUMN, MODIFY_COLUMN) and spec.column is not None:
        old = table.column(spec.old_name)
        if old is not None and old.production_name:
            new = new_column_state(spec.column, table.charset)
            subject = f"{table.name}.{old.name}"
            if old.nullable and not new.nullable:
                probes.append(_nulls(step, table, old, spec, source, f"{subject} made NOT NULL"))
            if spec.column.unique or spec.column.primary_key:
                kind = "primary" if spec.column.primary_key else "unique"
                probes += _unique_probes(step, table, spec, IndexDef(kind, old.name, []), source, [old])
            if family(old.type) in ("enum", "set") and family(new.type) == family(old.type):
                removed, _reordered, _inserted = enum_change(old.type, new.type)
                if removed:
                    select, columns = _key_select(table, [(_col(old), old.name)])
                    predicate = enum_used_predicate(_col(old), old.type, removed)
                    probes.append(Probe("DP105", step, subject, f"{subject} loses value(s) {', '.join(removed)}", spec.start,
                                        f"SELECT COUNT(*) FROM {source} WHERE {predicate}",
                                        f"SELECT {select} FROM {source} WHERE {predicate} LIMIT 1", columns,
                                        table.index_leading([old.name]), table_rows=table.rows))
            elif narrowing(old.type, new.type):
                predicate = misfit_predicate(_col(old), old.type, new.type)
                what = f"{subject} narrowed to {new.type.render()}"
                if predicate is None:
                    probes.append(Probe("DP104", step, subject, what, spec.start,
                                        skip=f"no probe for {old.type.render()} -> {new.type.render()}: check the values by hand"))
                else:
                    select, columns = _key_select(table, [(_col(old), old.name)])
                    condition = f"{_col(old)} IS NOT NULL AND {predicate}"
                    probes.append(Probe("DP104", step, subject, what, spec.start,
                                        f"SELECT COUNT(*) FROM {source} WHERE {condition}",
                                        f"SELECT {select} FROM {source} WHERE {condition} LIMIT 1", columns,
                                        table_rows=table.rows))
            if spec.column.check:
                probes.append(_check_probe(step, table, spec, spec.column.check, source, f"CHECK on {subject}"))
    if spec.action == CONVERT_CHARSET:
        target = spec.options.get("charset") or ""
        for column in table.columns.values():
            if column.production_name and loses_characters(column.type.charset, target):
                converted = copy.deepcopy(column.type)
                converted.charset = target
                predicate = misfit_predicate(_col(column), column.type, converted)
                if predicate is None:
                    continue
                select, columns = _key_select(table, [(_col(column), column.name)])
                condition = f"{_col(column)} IS NOT NULL AND {predicate}"
                probes.append(Probe("DP104", step, f"{table.name}.{column.name}",
                                    f"{table.name}.{column.name} converted to {target}", spec.start,
                                    f"SELECT COUNT(*) FROM {source} WHERE {condition}",
                                    f"SELECT {select} FROM {source} WHERE {condition} LIMIT 1", columns, table_rows=table.rows))
    if spec.action == ADD_FOREIGN_KEY and spec.foreign_key is not None:
        probes.append(_orphans(step, table, spec, source, database, filled))
    if spec.action == ADD_CHECK and spec.check is not None:
        probes.append(_check_probe(step, table, spec, spec.check.expression, source,
                                   f"CHECK {spec.check.name or ''} ({spec.check.expression}) on {table.name}".replace("  ", " ")))
    if spec.action == ADD_COLUMN and spec.column is not None and (spec.column.unique or spec.column.primary_key):
        if table.rows > 1 or table.has_rows:
            probes.append(Probe("DP101", step, f"{table.name}.{spec.column.name}", f"new unique column {spec.column.name}",
                                spec.start, skip="the column is new: every existing row gets its default; the rehearsal "
                                                 "applies it to seeded rows (MG101)"))
    return probes


def _unique_probes(step: Step, table: TableState, spec: AlterSpec, index: IndexDef, source: str,
                   columns: Optional[List[ColumnState]] = None) -> List[Probe]:
    kind = "PRIMARY KEY" if index.kind == "primary" else f"UNIQUE KEY {index.name or ''}".strip()
    parts, states = [], []
    for key_column in index.columns if columns is None else []:
        state = table.column(key_column.name)
        if state is None or not state.production_name:
            return [Probe("DP101", step, f"{table.name}.{key_column.name or 'expression'}", f"new {kind} on {table.name}",
                          spec.start, skip=f"{key_column.name or 'a functional key part'} is not a column on production "
                                           "(new in this deploy, or an expression): the rehearsal applies it to seeded rows")]
        states.append(state)
        parts.append(f"LEFT({_col(state)}, {key_column.length})" if key_column.length else _col(state))
    if columns is not None:
        states = columns
        parts = [_col(c) for c in columns]
    names = ", ".join(c.name for c in states)
    subject = f"{table.name}.{index.name or names}" if index.kind != "primary" else f"{table.name}.PRIMARY"
    what = f"new {kind} ({names}) on {table.name}"
    probes: List[Probe] = []
    if index.kind == "primary":
        for state in states:
            if state.nullable:
                probes.append(_nulls(step, table, state, spec, source, f"{table.name}.{state.name} in the new PRIMARY KEY"))
    not_null = " AND ".join(f"{_col(c)} IS NOT NULL" for c in states)
    grouped = ", ".join(parts)
    probes.append(Probe(
        "DP101", step, subject, what, spec.start,
        f"SELECT COUNT(*), COALESCE(SUM(n), 0) FROM (SELECT COUNT(*) AS n FROM {source} WHERE {not_null} "
        f"GROUP BY {grouped} HAVING COUNT(*) > 1) AS duplicates",
        f"SELECT {grouped}, COUNT(*) FROM {source} WHERE {not_null} GROUP BY {grouped} HAVING COUNT(*) > 1 LIMIT 1",
        [c.name for c in states] + ["rows"], table.index_leading([c.name for c in states]), table_rows=table.rows,
    ))
    return probes


def _nulls(step: Step, table: TableState, column: ColumnState, spec: AlterSpec, source: str, what: str) -> Probe:
    select, columns = _key_select(table)
    return Probe("DP102", step, f"{table.name}.{column.name}", what, spec.start,
                 f"SELECT COUNT(*) FROM {source} WHERE {_col(column)} IS NULL",
                 f"SELECT {select} FROM {source} WHERE {_col(column)} IS NULL LIMIT 1", columns,
                 table.index_leading([column.name]), table_rows=table.rows)


def _orphans(step: Step, table: TableState, spec: AlterSpec, source: str, database: str, filled: set) -> Probe:
    fk = spec.foreign_key
    if fk is None:
        raise ValueError("_orphans needs an ADD FOREIGN KEY specification")
    subject = f"{table.name}.{fk.name or '(' + ', '.join(fk.columns) + ')'}"
    what = f"new foreign key ({', '.join(fk.columns)}) -> {fk.ref_table.name} ({', '.join(fk.ref_columns)})"
    child = [table.column(c) for c in fk.columns]
    if any(c is None or not c.production_name for c in child):
        return Probe("DP103", step, subject, what, spec.start, skip="a referencing column is new in this deploy")
    parent = step.table_before(fk.ref_table.name) if fk.ref_table.schema is None else None
    not_null = " AND ".join(f"c.{_col(c)} IS NOT NULL" for c in child if c)
    select, columns = _key_select(table, [(f"c.{_col(c)}", c.name) for c in child if c], alias="c.")
    if fk.ref_table.schema is not None:
        parent_name = f"{quote_identifier(fk.ref_table.schema)}.{quote_identifier(fk.ref_table.name)}"
        ref_columns = [quote_identifier(c) for c in fk.ref_columns]
    elif parent is None:
        return Probe("DP103", step, subject, what, spec.start, skip=f"{fk.ref_table.name} is not a table of production "
                                                                    "or of this deploy")
    elif not parent.preexisting:
        if fk.ref_table.name.lower() in filled:
            return Probe("DP103", step, subject, what, spec.start,
                         skip=f"{fk.ref_table.name} is created and filled by this deploy: the rehearsal checks it (MG101)")
        return Probe("DP103", step, subject, what, spec.start,
                     f"SELECT COUNT(*) FROM {source} c WHERE {not_null}",
                     f"SELECT {select} FROM {source} c WHERE {not_null} LIMIT 1", columns, table_rows=table.rows)
    else:
        parent_name = _name(database, parent)
        ref_states = [parent.column(c) for c in fk.ref_columns]
        if any(r is None or not r.production_name for r in ref_states):
            return Probe("DP103", step, subject, what, spec.start, skip="a referenced column is new in this deploy")
        ref_columns = [_col(r) for r in ref_states if r]
    join = " AND ".join(f"p.{r} = c.{_col(c)}" for r, c in zip(ref_columns, child) if c)
    condition = f"{not_null} AND NOT EXISTS (SELECT 1 FROM {parent_name} p WHERE {join})"
    index = parent.index_leading(fk.ref_columns) if parent is not None else None
    return Probe("DP103", step, subject, what, spec.start, f"SELECT COUNT(*) FROM {source} c WHERE {condition}",
                 f"SELECT {select} FROM {source} c WHERE {condition} LIMIT 1", columns, index, table_rows=table.rows)


def _check_probe(step: Step, table: TableState, spec: AlterSpec, expression: str, source: str, what: str) -> Probe:
    select, columns = _key_select(table)
    return Probe("DP106", step, f"{table.name}.check", what, spec.start,
                 f"SELECT COUNT(*) FROM {source} WHERE NOT ({expression})",
                 f"SELECT {select} FROM {source} WHERE NOT ({expression}) LIMIT 1", columns, table_rows=table.rows)


# --------------------------------------------------------------------- run
_FAILURE = {
    "DP101": "duplicate key value(s) on production{rows}: the statement fails with a duplicate-key error (1062)",
    "DP102": "row(s) on production are NULL there: the statement fails (1265/1138 in strict mode) or silently fills 0/''",
    "DP103": "row(s) on production reference no parent row: the foreign key cannot be added (1452)",
    "DP104": "value(s) on production do not fit: the statement fails (1406/1264 in strict mode) or truncates them",
    "DP105": "row(s) on production use the removed value(s): the statement fails (1265) or blanks them",
    "DP106": "row(s) on production violate it: the statement fails (4025)",
}


def run(conn: Any, server: ServerInfo, probes: Sequence[Probe], timeout_seconds: float) -> List[CheckResult]:
    """Run the probes on production in a read-only session, each bounded to ``timeout_seconds``."""
    results: List[CheckResult] = []
    if not probes:
        return results
    with conn.cursor() as cur:
        cur.execute(server.read_only_session)
        sql, args = server.statement_time_limit(timeout_seconds)
        cur.execute(sql, args)
    try:
        for probe in probes:
            results.append(_run_one(conn, server, probe, timeout_seconds))
    finally:
        with conn.cursor() as cur:  # the session goes back to how the caller had it
            sql, args = server.statement_time_limit(0)
            cur.execute(sql, args)
            cur.execute(server.read_write_session)
    return results


def _run_one(conn: Any, server: ServerInfo, probe: Probe, timeout_seconds: float) -> CheckResult:
    figures: Dict[str, Any] = {"probe": probe.what, "index": probe.index, "rows_estimate": probe.table_rows}
    if probe.skip:
        return finding(probe.code, probe.step, probe.subject, f"{probe.what}: not probed: {probe.skip}",
                       severity=Severity.INFO, offset=probe.offset, figures=figures)
    started = time.monotonic()
    try:
        with conn.cursor() as cur:
            cur.execute(probe.count_sql)
            counted = cur.fetchone()
            count = int(counted[0] or 0)
            rows = int(counted[1] or 0) if len(counted) > 1 else count
            example = None
            if count:
                cur.execute(probe.example_sql)
                example = cur.fetchone()
    except MySQLError as exc:
        seconds = time.monotonic() - started
        figures["seconds"] = round(seconds, 3)
        if error_code(exc) in server.statement_timeout_codes:
            return finding(probe.code, probe.step, probe.subject,
                           f"{probe.what}: the probe timed out after {timeout_seconds:g} s on production "
                           f"({'index-assisted' if probe.index else 'no index to use'}): NOT proven; raise "
                           "gate_probe_timeout or check by hand", severity=Severity.WARN, offset=probe.offset, figures=figures)
        return finding(probe.code, probe.step, probe.subject, f"{probe.what}: not probed: {error_text(exc)}",
                       severity=Severity.INFO, offset=probe.offset, figures=figures)
    seconds = time.monotonic() - started
    figures.update(seconds=round(seconds, 3), count=count)
    assisted = f", index-assisted ({probe.index})" if probe.index else ""
    if not count:
        return finding(probe.code, probe.step, probe.subject,
                       f"{probe.what}: no production row breaks it (~{probe.table_rows:,} rows{assisted}, {seconds:.3f} s)",
                       offset=probe.offset, figures=figures, passed=True)
    key = _example(probe.example_columns, example)
    figures.update(example=key, rows=rows)
    rows_text = f" ({rows:,} rows)" if probe.code == "DP101" else ""
    message = f"{probe.what}: {count:,} " + _FAILURE[probe.code].format(rows=rows_text) + f"; e.g. {key}"
    return finding(probe.code, probe.step, probe.subject, message, offset=probe.offset, figures=figures)


def _example(columns: Sequence[str], row: Optional[Sequence[Any]]) -> str:
    if row is None:
        return "(the example row changed meanwhile)"
    parts = []
    for name, value in zip(columns, row):
        text = repr(value.decode("utf-8", "replace") if isinstance(value, bytes) else value)
        parts.append(f"{name}={text if len(text) <= 60 else text[:57] + '...'}")
    return ", ".join(parts)
