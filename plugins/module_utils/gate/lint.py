"""Static lint of the pending migrations against production's catalog: stable codes, file and line.

Rules (codes in core/check_registry.py, each documented in the README):
DS101 drop table, DS102 drop column, DS103 rename table or column, DS104 rows
deleted (TRUNCATE, DELETE without WHERE), MF101 NOT NULL without default on a
populated table, MF102 type narrowing, MF103 ENUM/SET values removed or
reordered, MF104 foreign key dropped, MY101 statement not safe to re-run, DM101
data migration inside a DDL migration; LN101-LN103 say what was linted, what was
not understood and which annotations are malformed or stale.

"Pre-existing" and "populated" come from production's catalog (statement_walk.py):
a table this deploy creates is empty, so dropping or narrowing it destroys nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

from ..core.annotations import wants_alter_wrapper

from ..core.check_registry import Severity
from ..core.checks import CheckResult
from ..core.connection import MySQLError
from ..core.dialect import ServerInfo
from ..core.sql_parse import (
    ADD_COLUMN, ADD_FOREIGN_KEY, ADD_INDEX, ALTER_TABLE, CHANGE_COLUMN, CONVERT_CHARSET, CREATE_INDEX, CREATE_TABLE, DELETE,
    DROP_COLUMN,
    DROP_CONSTRAINT, DROP_FOREIGN_KEY, DROP_INDEX, DROP_INDEX_STATEMENT, DROP_PRIMARY_KEY, DROP_TABLE, INSERT,
    MODIFY_COLUMN, RENAME_COLUMN, RENAME_INDEX, RENAME_TABLE, RENAME_TABLES, REPLACE, TRUNCATE, UPDATE, AlterSpec,
    CannotRewrite, ColumnDef, alter_clauses,
)
from . import data_probe
from .findings import annotation_checks, apply_allow_annotations, finding
from .statement_walk import (
    ColumnState, Step, TableState, Walk, altered_preexisting_tables, confirm_rows, new_column_state, read_catalog, walk,
)
from .type_change import enum_change, family, loses_characters, narrowing

LINT_GROUPS = ("lint", "data")


@dataclass(frozen=True)
class LintSettings:
    server: ServerInfo
    data_migration_rows: int = 100_000  # DM101 blocks above this many rows on production


def lint(walk: Walk, settings: LintSettings) -> List[CheckResult]:
    """Findings for every step of ``walk``, plus one LN101 per migration. Allow annotations are not applied here."""
    results: List[CheckResult] = []
    by_migration: Dict[str, List[Step]] = {}
    for step in walk.steps:
        by_migration.setdefault(step.migration.name, []).append(step)
    for name, steps in by_migration.items():
        found: List[CheckResult] = []
        has_ddl = any(s.parsed.is_ddl for s in steps)
        for position, step in enumerate(steps):
            found += _understood(step)
            found += _destructive(step)
            found += _alter_rules(step)
            if len(steps) > 1 and position < len(steps) - 1:
                found += _rerun(step, settings.server)
            if has_ddl:
                found += _data_migration(step, settings)
        migration = steps[0].migration
        results.append(CheckResult(
            "LN101", name, True,
            f"{len(steps)} statement(s) linted: {sum(1 for r in found if not r.passed)} finding(s)",
            figures={"statements": len(steps), "file": migration.up_path, "findings": [r.code for r in found]},
            subject=name,
        ))
        results += found
    return results


def finish(results: List[CheckResult], walk: Walk, judged_groups: Sequence[str] = LINT_GROUPS) -> List[CheckResult]:
    """Apply the allow annotations to ``results`` and add LN103 for malformed and stale ones."""
    used = apply_allow_annotations(results, walk.steps)
    return results + annotation_checks(walk.steps, walk.loose_annotations, used, judged_groups)


# ------------------------------------------------------------------- rules
def _understood(step: Step) -> List[CheckResult]:
    if step.parsed.understood:
        return []
    subject = str(step.parsed.table) if step.parsed.table else step.migration.name
    return [finding("LN102", step, subject, "not understood, so not linted: " + "; ".join(step.parsed.unknown_parts))]


def _destructive(step: Step) -> List[CheckResult]:
    parsed, results = step.parsed, []
    if parsed.kind == DROP_TABLE:
        for name in parsed.tables:
            table = step.table_before(name.name)
            if table is not None and table.preexisting and not parsed.temporary:
                results.append(finding("DS101", step, table.name, f"drops table {table.name} ({_rows(table)} on production)"))
    elif parsed.kind == RENAME_TABLES:
        for old, new in parsed.renames:
            table = step.table_before(old.name)
            if table is not None and table.preexisting:
                results.append(finding("DS103", step, table.name, f"renames table {old.name} to {new.name}: the running "
                                                                  "application still uses the old name until it is deployed"))
    elif parsed.kind in (TRUNCATE, DELETE) and parsed.table is not None:
        table = step.table_before(parsed.table.name)
        if table is not None and table.preexisting and (parsed.kind == TRUNCATE or not parsed.has_where):
            verb = "TRUNCATE" if parsed.kind == TRUNCATE else "DELETE without WHERE"
            results.append(finding("DS104", step, table.name, f"{verb} removes every row of {table.name} ({_rows(table)})"))
    return results


def _alter_rules(step: Step) -> List[CheckResult]:
    parsed = step.parsed
    if parsed.kind not in (ALTER_TABLE, CREATE_INDEX, DROP_INDEX_STATEMENT) or parsed.table is None:
        return []
    table = step.table_before(parsed.table.name)
    if table is None or not table.preexisting:
        return []
    results: List[CheckResult] = []
    for spec in parsed.specs:
        results += _spec_rules(step, table, spec)
    return results


def _spec_rules(step: Step, table: TableState, spec: AlterSpec) -> List[CheckResult]:
    action, results = spec.action, []
    column = table.column(spec.old_name)
    if action == DROP_COLUMN and column is not None and column.production_name:
        results.append(finding("DS102", step, f"{table.name}.{column.name}",
                               f"drops column {table.name}.{column.name} ({column.type.render()}) and its data "
                               f"({_rows(table)})", offset=spec.start))
    if action == RENAME_COLUMN or (action == CHANGE_COLUMN and spec.new_name and spec.old_name
                                   and spec.new_name.lower() != spec.old_name.lower()):
        if column is not None and column.production_name:
            results.append(finding("DS103", step, f"{table.name}.{column.name}",
                                   f"renames column {table.name}.{spec.old_name} to {spec.new_name}: queries of the "
                                   "running application that name it fail until it is deployed", offset=spec.start))
    if action == RENAME_TABLE and spec.new_table is not None:
        results.append(finding("DS103", step, table.name, f"renames table {table.name} to {spec.new_table.name}: the running "
                                                          "application still uses the old name", offset=spec.start))
    if action == ADD_COLUMN and spec.column is not None:
        for new_column in [spec.column] + list(spec.extra_columns):
            results += _not_null_added(step, table, spec, new_column)
    if action in (CHANGE_COLUMN, MODIFY_COLUMN) and spec.column is not None and column is not None:
        results += _column_change(step, table, spec, column, spec.column)
    if action == CONVERT_CHARSET:
        results += _converted(step, table, spec)
    if action == DROP_FOREIGN_KEY:
        fk = table.foreign_keys.get((spec.old_name or "").lower())
        if fk is not None:
            again = _readded_later(step, table, fk.columns)
            severity = Severity.INFO if again else None
            note = f"; re-added by a later statement of this migration ({again})" if again else \
                "; rows that break it can be written from now on"
            results.append(finding("MF104", step, f"{table.name}.{spec.old_name}",
                                   f"drops foreign key {spec.old_name} ({', '.join(fk.columns)} -> {fk.ref_table.name})" + note,
                                   severity=severity, offset=spec.start))
    return results


def _not_null_added(step: Step, table: TableState, spec: AlterSpec, column: ColumnDef) -> List[CheckResult]:
    state = new_column_state(column, table.charset)
    if state.nullable or state.default is not None or state.auto_increment or state.generated or not table.has_rows:
        return []
    return [finding("MF101", step, f"{table.name}.{column.name}",
                    f"adds NOT NULL column {table.name}.{column.name} without DEFAULT to a table with rows ({_rows(table)}): "
                    "existing rows get an implicit 0/''/zero date and inserts that omit it fail; add a DEFAULT, or add it "
                    "nullable, backfill, then make it NOT NULL", offset=spec.start)]


def _column_change(step: Step, table: TableState, spec: AlterSpec, old: ColumnState, new_def: ColumnDef) -> List[CheckResult]:
    results = []
    new = new_column_state(new_def, table.charset)
    subject = f"{table.name}.{old.name}"
    if not old.production_name:
        return results
    if old.nullable and not new.nullable and new.default is None and table.has_rows and not new.auto_increment:
        results.append(finding("MF101", step, subject,
                               f"makes {subject} NOT NULL without DEFAULT on a table with rows ({_rows(table)}): existing "
                               "NULLs make the ALTER fail (the data probe counts them) and inserts that omit it fail",
                               offset=spec.start))
    old_family = family(old.type)
    if old_family in ("enum", "set") and family(new.type) == old_family:
        removed, reordered, inserted = enum_change(old.type, new.type)
        problems = ([f"removes {', '.join(removed)}"] if removed else []) + (["reorders the kept values"] if reordered else []) \
            + (["inserts values before existing ones (their positions and the sort order change)"] if inserted else [])
        if problems:
            results.append(finding("MF103", step, subject, f"{old.type.name.upper()} {subject} " + "; ".join(problems)
                                   + f" ({old.type.render()} -> {new.type.render()})", offset=spec.start))
        return results
    reason = narrowing(old.type, new.type)
    if reason:
        implicit = ""
        if new_def.type.charset is None and old.type.charset and new.type.charset != old.type.charset:
            implicit = f" (no CHARACTER SET given: the column takes the table's {new.type.charset})"
        severity = None if table.has_rows else Severity.INFO
        results.append(finding("MF102", step, subject, f"narrows {subject}: {reason}{implicit}", severity=severity,
                               offset=spec.start))
    return results


def _converted(step: Step, table: TableState, spec: AlterSpec) -> List[CheckResult]:
    """MF102 for CONVERT TO CHARACTER SET into a set that cannot hold every character of some column."""
    target = spec.options.get("charset") or ""
    lossy = [c for c in table.columns.values() if c.production_name and loses_characters(c.type.charset, target)]
    if not lossy:
        return []
    severity = None if table.has_rows else Severity.INFO
    return [finding("MF102", step, table.name,
                    f"CONVERT TO CHARACTER SET {target} narrows {len(lossy)} column(s) of {table.name}: characters their "
                    f"character set holds and {target} does not are lost ({', '.join(c.name for c in lossy)})",
                    details=[f"{c.name}: {c.type.charset} -> {target}" for c in lossy], severity=severity, offset=spec.start)]


def _readded_later(step: Step, table: TableState, columns: Sequence[str]) -> Optional[str]:
    wanted = [c.lower() for c in columns]
    for later in step.later:
        if later.table is None or later.table.name.lower() != table.name.lower():
            continue
        for spec in later.specs:
            if spec.action == ADD_FOREIGN_KEY and spec.foreign_key and [c.lower() for c in spec.foreign_key.columns] == wanted:
                return spec.foreign_key.name or "unnamed"
    return None


_NOT_IDEMPOTENT_SPECS = {
    ADD_COLUMN: "ADD COLUMN IF NOT EXISTS", ADD_INDEX: "ADD INDEX IF NOT EXISTS", ADD_FOREIGN_KEY: "ADD FOREIGN KEY IF NOT EXISTS",
    DROP_COLUMN: "DROP COLUMN IF EXISTS", DROP_INDEX: "DROP INDEX IF EXISTS", DROP_FOREIGN_KEY: "DROP FOREIGN KEY IF EXISTS",
    DROP_CONSTRAINT: "DROP CONSTRAINT IF EXISTS", CHANGE_COLUMN: "", RENAME_COLUMN: "", RENAME_INDEX: "", RENAME_TABLE: "",
    DROP_PRIMARY_KEY: "",
}


def _rerun(step: Step, server: ServerInfo) -> List[CheckResult]:
    """MY101: this statement, applied before a later one fails, makes the migration fail when run again."""
    parsed, problem = step.parsed, ""
    or_replace = len(parsed.tokens) > 1 and parsed.tokens[1].is_word("OR")
    if parsed.kind == CREATE_TABLE and not parsed.if_exists and not or_replace and not parsed.temporary:
        problem, fix = "CREATE TABLE fails when the table exists", "CREATE TABLE IF NOT EXISTS"
    elif parsed.kind in (CREATE_INDEX, DROP_INDEX_STATEMENT) and not parsed.if_exists and not or_replace:
        problem = "CREATE INDEX fails when the index exists" if parsed.kind == CREATE_INDEX else "DROP INDEX fails once it is gone"
        fix = "IF NOT EXISTS" if parsed.kind == CREATE_INDEX else "IF EXISTS"
    elif parsed.kind == DROP_TABLE and not parsed.if_exists:
        problem, fix = "DROP TABLE fails once the table is gone", "DROP TABLE IF EXISTS"
    elif parsed.kind == RENAME_TABLES:
        problem, fix = "RENAME TABLE fails once renamed", ""
    elif parsed.kind == ALTER_TABLE:
        for spec in parsed.specs:
            if spec.action in _NOT_IDEMPOTENT_SPECS and not spec.if_exists:
                problem, fix = f"{spec.action.replace('_', ' ').upper()} fails when it already happened", _NOT_IDEMPOTENT_SPECS[spec.action]
                break
    if not problem:
        return []
    if fix and (server.supports_if_exists_in_alter or parsed.kind in (CREATE_TABLE, DROP_TABLE)):
        advice = f"use {fix}, or give the statement a migration of its own"
    else:
        advice = "give the statement a migration of its own (this server has no IF [NOT] EXISTS for it)"
    subject = str(parsed.table) if parsed.table else step.migration.name
    return [finding("MY101", step, subject, f"statement {step.index + 1} is not the migration's last and not safe to re-run: "
                                            f"{problem}, so after a later statement fails the migration cannot simply run "
                                            f"again; {advice}")]


def _data_migration(step: Step, settings: LintSettings) -> List[CheckResult]:
    parsed = step.parsed
    if parsed.kind not in (UPDATE, DELETE, INSERT, REPLACE) or parsed.table is None:
        return []
    if parsed.kind in (INSERT, REPLACE) and not parsed.as_select:
        return []  # a few literal rows are reference data, not a data migration
    table = step.table_before(parsed.table.name)
    source_rows = table.rows if table is not None and table.preexisting else 0
    if table is not None and not table.preexisting and parsed.kind in (UPDATE, DELETE):
        return []
    if parsed.kind in (INSERT, REPLACE):
        source_rows = max(source_rows, _largest_source(step))
        if source_rows == 0:
            return []
    elif table is None:
        return []
    severity = Severity.BLOCK if source_rows >= settings.data_migration_rows else None
    verb = parsed.kind.upper() + (" ... SELECT" if parsed.as_select else "")
    return [finding("DM101", step, str(parsed.table),
                    f"{verb} on {parsed.table} (~{source_rows:,} rows on production) in a migration that also changes the "
                    "schema: it runs inside the deploy window, holds its row locks until it ends and cannot resume after a "
                    "failure; move it to a migration of its own (or a batched job)"
                    + (f"; blocks above {settings.data_migration_rows:,} rows" if severity else ""),
                    severity=severity, figures={"rows": source_rows})]


def _largest_source(step: Step) -> int:
    """Rows of the largest pre-existing table an INSERT ... SELECT reads (names after FROM/JOIN)."""
    tokens, largest = step.parsed.tokens, 0
    for index, token in enumerate(tokens[:-1]):
        if token.is_word("FROM", "JOIN"):
            name = tokens[index + 1].identifier.lower()
            table = step.before.get(name)
            if table is None:
                continue
            largest = max(largest, table.rows)
    return largest


def _rows(table: TableState) -> str:
    if not table.has_rows:
        return "no rows"
    return f"~{table.rows:,} rows"


# ------------------------------------------------------- the step as a whole
@dataclass
class LintOutcome:
    results: List[CheckResult]
    production: Dict[str, Any]  # what the DDL prediction needs of production (ddl_probe.probe_migrations)
    altered_tables: List[str]  # pre-existing tables the pending statements alter


def lint_pending(
    conn: Any,
    server: ServerInfo,
    database: str,
    pending: Sequence[Any],
    settings: LintSettings,
    probes: bool = True,
    probe_timeout: float = 5.0,
    exclude: Sequence[str] = (),
) -> LintOutcome:
    """Lint ``pending`` against production's catalog, probe production's rows, apply the allow annotations."""
    catalog = read_catalog(conn, database, server, exclude)
    touched = {name for step in walk(pending, catalog).steps for name in step.before}
    confirm_rows(conn, database, catalog, touched)
    walked = walk(pending, catalog)
    results = lint(walked, settings) + _wrapper_annotations(walked)
    if probes:
        results += data_probe.run(conn, server, data_probe.plan(walked, database), probe_timeout)
    results = finish(results, walked)
    altered = altered_preexisting_tables(walked.steps)
    tables = {name: catalog[name.lower()].as_facts() for name in altered}
    _row_versions(conn, server, database, tables)
    production = {"server": {"flavor": server.flavor, "version": server.version_string},
                  "variables": read_alter_variables(conn, server), "tables": tables}
    return LintOutcome(results, production, altered)


def read_alter_variables(conn: Any, server: ServerInfo) -> Dict[str, Any]:
    """Production's global values of the variables that change what an ALTER does (dialect.alter_variables)."""
    values: Dict[str, Any] = {}
    with conn.cursor() as cur:
        for name in server.alter_variables:
            try:
                cur.execute(f"SELECT @@GLOBAL.{name}")
                values[name] = cur.fetchone()[0]
            except MySQLError:
                continue  # not a variable of this version
    return values


def _row_versions(conn: Any, server: ServerInfo, database: str, tables: Dict[str, Dict[str, Any]]) -> None:
    if server.row_versions_query is None:
        return
    with conn.cursor() as cur:
        for name, facts in tables.items():
            try:
                cur.execute(server.row_versions_query, (server.innodb_table_name(database, name),))
                row = cur.fetchone()
            except MySQLError:
                return  # INNODB_TABLES needs PROCESS: the prediction says it could not check
            facts["row_versions"] = int(row[0]) if row and row[0] is not None else 0


def _wrapper_annotations(walked: Walk) -> List[CheckResult]:
    """LN103: an alter-wrapper annotation must sit on an ALTER the tool can run (a key it can copy by)."""
    results: List[CheckResult] = []
    for step in walked.steps:
        annotation = wants_alter_wrapper(step.annotations)
        if annotation is None:
            continue
        parsed, problem = step.parsed, ""
        table = step.table_before(parsed.table.name) if parsed.table else None
        if parsed.kind not in (ALTER_TABLE, CREATE_INDEX, DROP_INDEX_STATEMENT) or table is None:
            problem = "schemagate:alter-wrapper is only for ALTER TABLE (and CREATE/DROP INDEX) of an existing table"
        else:
            try:
                alter_clauses(parsed)
            except CannotRewrite as exc:
                problem = f"schemagate:alter-wrapper cannot run this statement: {exc}"
            else:
                if not _has_copy_key(table):
                    problem = (f"pt-online-schema-change needs a PRIMARY KEY or a UNIQUE key of NOT NULL columns on "
                               f"{table.name} to copy it by")
        if problem:
            results.append(finding("LN103", step, step.migration.name, problem + f" (annotation at line {annotation.line})"))
    return results


def _has_copy_key(table: TableState) -> bool:
    for index in table.indexes.values():
        if index.kind == "primary":
            return True
        if index.kind == "unique" and all((table.column(c) is not None and not table.column(c).nullable)  # type: ignore[union-attr]
                                          for c in index.column_names):
            return True
    return False
