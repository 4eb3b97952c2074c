"""The gate's verify step: is the migrated scratch database what reviewers signed off?

Four kinds of checks, each a CheckResult of group ``verify``:

- ``structure <table>``: the exact structure file (``expectations/phase_b_schema.yaml``),
  compared with ``catalog.diff_tables``;
- named semantic rules from an expectations file (``expectations/phase_b.yaml``): the
  tenant column, foreign keys, unique keys, critical indexes, enums, JSON columns, soft
  delete and polymorphic pairs. They repeat parts of the structure on purpose: a failure
  says which promise broke, not only which line differs;
- the annotated queries of a verify SQL file (``sql/verify_migrations.sql``);
- generic catalog rules that need no spec, over every table: primary keys, indexed
  foreign keys, one collation.

Bad input (an unreadable or malformed expectations or SQL file) raises SchemagateError
with one line naming the file and the key or line; a schema that breaks a rule is not
an error, it is a failed check.
"""
from __future__ import annotations

import os
import re
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ..core.bookkeeping import DEFAULT_MIGRATIONS_TABLE, bookkeeping_tables
from ..core.catalog import diff_tables, fingerprint, read_tables
from ..core.check_registry import Severity
from ..core.checks import CheckResult, skipped_check
from ..core.connection import MySQLError, error_text, quote_identifier, quote_name, validate_identifier
from ..core.dialect import ServerInfo
from ..core.errors import SchemagateError
from ..core.expectations import Expectations, ForeignKeyRule, load_expectations
from ..core.schema_model import Column, ForeignKey, Index, Table, Tables, tables_from_dict
from ..core.session import SqlSession
from ..core.sql_script import Statement, split_statements


_ENUM_VALUE = re.compile(r"'((?:[^']|'')*)'")
_SHOWN_ROWS = 20  # rows quoted in the details of a failed query check


# --------------------------------------------------------------------------- entry point
def verify_schema(
    conn: Any,
    server: ServerInfo,
    database: str,
    expectations_file: Optional[str] = None,
    verify_sql_file: Optional[str] = None,
    baseline: Optional[Mapping[str, Any]] = None,
    migrations_table: str = DEFAULT_MIGRATIONS_TABLE,
) -> List[CheckResult]:
    """Every verify check of ``database``; raises SchemagateError only for bad input.

    Both files are optional and parsed before the server is asked anything; a missing one
    is reported as skipped. ``baseline`` is the structure before the migrations (tables by
    name, in structure-file form): the catalog rules then block only on the tables the
    migrations created or altered, and describe the others. schemagate's own tables are
    never checked. ``conn`` should be the gate's own connection: the queries end any
    transaction open on it, and it keeps ``database`` as current database when it had none before.
    """
    expectations = load_expectations(expectations_file) if expectations_file else None
    sql_checks = load_verify_sql(verify_sql_file) if verify_sql_file else []
    validate_identifier(database, "database name")
    SqlSession(conn, server).require_database(database)

    tables = read_tables(conn, database, server, exclude=bookkeeping_tables(migrations_table))
    touched = touched_tables(tables, baseline)
    if expectations is None:
        results = [skipped_check(
            "SV114", "expectations", "no expectations file (schemagate_expectations_file): structure and rule checks skipped; "
            "generate one with playbooks/expectations.yml",
        )]
    else:
        results = structure_checks(expectations, tables)
        if baseline is not None:  # without a baseline, which tables the migrations touched is unknown
            results.append(coverage_check(expectations, touched))
        results += rule_checks(expectations, tables)
    if verify_sql_file:
        results += run_sql_checks(conn, database, sql_checks)
    else:
        results.append(skipped_check("SV116", "verify queries", "no verify SQL file (gate_verify_sql_file)"))
    results += generic_checks(tables, touched)
    return results


def touched_tables(tables: Tables, baseline: Optional[Mapping[str, Any]]) -> List[str]:
    """The tables the migrations created or altered: new, or different from ``baseline``; all of them without one."""
    if baseline is None:
        return sorted(tables)
    before = tables_from_dict(dict(baseline), "baseline")
    return sorted(name for name in tables if name not in before or fingerprint(before[name]) != fingerprint(tables[name]))


def coverage_check(expectations: Expectations, touched: Sequence[str]) -> CheckResult:
    """Every table the migrations create or alter is recorded in the structure file: nothing drifts unreviewed."""
    source = os.path.basename(expectations.structure_path)
    missing = [
        f"table {name} is created or altered by the migrations but not in {source}: "
        "regenerate it with playbooks/expectations.yml and review the difference"
        for name in touched if name not in expectations.structure
    ]
    return _result(
        _Key("SV115", f"{source} covers the migrated tables", "*"), missing,
        f"all {len(touched)} tables the migrations create or alter are in {source}",
    )


@dataclass(frozen=True)
class _Key:
    """Which registered check, its readable name, and the object it is about (what a waiver names)."""

    code: str
    name: str
    subject: str


def _result(key: _Key, details: List[str], passed_message: str, warning: str = "") -> CheckResult:
    if details:
        message = details[0] if len(details) == 1 else f"{details[0]} (and {len(details) - 1} more)"
    else:
        message = passed_message
    return CheckResult(key.code, key.name, not details, message, details, warning=warning, subject=key.subject)


# --------------------------------------------------------------------------- a. exact structure
def structure_checks(expectations: Expectations, tables: Tables) -> List[CheckResult]:
    results = []
    source = os.path.basename(expectations.structure_path)
    for table in sorted(expectations.structure):
        actual = {table: tables[table]} if table in tables else {}
        details = diff_tables({table: expectations.structure[table]}, actual)
        result = _result(_Key("SV101", f"structure {table}", table), details, f"{table} matches {source} exactly")
        if len(details) > 1:
            result.message = f"{len(details)} differences from {source}; first: {details[0]}"
        results.append(result)
    return results


# --------------------------------------------------------------------------- b. semantic rules
def rule_checks(expectations: Expectations, tables: Tables) -> List[CheckResult]:
    results: List[CheckResult] = []
    for name, rules in expectations.tables.items():
        table = tables.get(name)
        if expectations.tenant is not None:
            results.append(_tenant_check(name, table, expectations.tenant))
        results += [_fk_check(name, table, rule) for rule in rules.foreign_keys]
        results += [_index_check(name, table, index, columns, unique=True) for index, columns in rules.unique.items()]
        results += [_index_check(name, table, index, columns, unique=False) for index, columns in rules.indexes.items()]
        results += [_enum_check(name, table, column, values) for column, values in rules.enums.items()]
        results += [_json_check(name, table, column) for column in rules.json]
        if rules.soft_delete:
            results.append(_soft_delete_check(name, table, rules.soft_delete))
        tenant_column = expectations.tenant.column if expectations.tenant else None
        results += [_polymorphic_check(name, table, prefix, tenant_column) for prefix in rules.polymorphic]
    return results


def _column(table: Table, name: str) -> Optional[Column]:
    return table.column(name)


def _index(table: Table, name: str) -> Optional[Index]:
    return table.index(name)


def _fks_on(table: Table, column: str) -> List[ForeignKey]:
    return [fk for fk in table.foreign_keys if fk.columns == (column,)]


def _missing_table(name: str, check: _Key) -> CheckResult:
    return _result(check, [f"table {name} does not exist"], "")


def _fk_problems(table: Table, rule: ForeignKeyRule) -> Tuple[List[str], Optional[ForeignKey]]:
    """Differences between the foreign key on ``rule.column`` and the rule, and the key itself."""
    candidates = _fks_on(table, rule.column)
    if not candidates:
        return [f"no foreign key on {rule.column}: add one to {rule.references} ON DELETE {rule.on_delete}"], None
    for fk in candidates:
        if fk.references == rule.references and fk.on_delete == rule.on_delete:
            return [], fk
    fk = candidates[0]
    problems = []
    if fk.references != rule.references:
        problems.append(f"foreign key {fk.name} references {fk.references}, expected {rule.references}")
    if fk.on_delete != rule.on_delete:
        problems.append(f"foreign key {fk.name} is ON DELETE {fk.on_delete}, expected ON DELETE {rule.on_delete}")
    return problems, fk


def _tenant_check(name: str, table: Optional[Table], tenant: ForeignKeyRule) -> CheckResult:
    check = _Key("SV102", f"tenant {name}.{tenant.column}", f"{name}.{tenant.column}")
    if table is None:
        return _missing_table(name, check)
    column = _column(table, tenant.column)
    if column is None:
        return _result(check, [f"column {tenant.column} is missing: every tenant table needs it"], "")
    details = []
    if column.nullable:
        details.append(f"{tenant.column} is nullable: make it NOT NULL, a row without a tenant belongs to nobody")
    problems, _fk = _fk_problems(table, tenant)
    details += problems
    leading = [i.name for i in table.indexes if i.columns and i.columns[0] == tenant.column]
    if not leading:
        details.append(f"no index starts with {tenant.column}: tenant-scoped queries would scan the whole table")
    passed = f"{tenant.column} is NOT NULL, references {tenant.references} ON DELETE {tenant.on_delete}, leads index {', '.join(leading)}"
    return _result(check, details, passed)


def _fk_check(name: str, table: Optional[Table], rule: ForeignKeyRule) -> CheckResult:
    check = _Key("SV103", f"fk {name}.{rule.column}", f"{name}.{rule.column}")
    if table is None:
        return _missing_table(name, check)
    problems, fk = _fk_problems(table, rule)
    return _result(check, problems, f"{fk.name if fk else ''}: {rule.describe()}")


def _index_check(name: str, table: Optional[Table], index_name: str, columns: List[str], unique: bool) -> CheckResult:
    check = _Key("SV104" if unique else "SV105", f"{'unique' if unique else 'index'} {name}.{index_name}", f"{name}.{index_name}")
    if table is None:
        return _missing_table(name, check)
    index = _index(table, index_name)
    if index is None:
        return _result(check, [f"index {index_name} is missing: add it on ({', '.join(columns)})"], "")
    details = []
    if unique and not index.unique:
        details.append(f"index {index_name} is not UNIQUE: duplicates would be accepted")
    if index.columns != tuple(columns):
        details.append(f"index {index_name} is on ({', '.join(map(str, index.columns))}), expected ({', '.join(columns)})")
    warning = ""
    if unique:
        nullable = [c for c in columns if c in table.column_names and table.column(c).nullable]
        if nullable:
            warning = (
                f"nullable column {', '.join(nullable)} in unique key {index_name}: rows where it is NULL never collide, "
                "so the key does not stop duplicates among them"
            )
    kind = "UNIQUE " if unique else ""
    return _result(check, details, f"{kind}{index_name} on ({', '.join(columns)})", warning)


def enum_values(column_type: str) -> Optional[List[str]]:
    """The values of an ``enum('a','b')`` column type, or None for any other type."""
    if not column_type.startswith("enum(") or not column_type.endswith(")"):
        return None
    return [value.replace("''", "'") for value in _ENUM_VALUE.findall(column_type[len("enum("):-1])]


def _enum_check(name: str, table: Optional[Table], column_name: str, expected: List[str]) -> CheckResult:
    check = _Key("SV106", f"enum {name}.{column_name}", f"{name}.{column_name}")
    if table is None:
        return _missing_table(name, check)
    column = _column(table, column_name)
    if column is None:
        return _result(check, [f"column {column_name} is missing"], "")
    actual = enum_values(column.type)
    if actual is None:
        return _result(check, [f"{column_name} is {column.type}, expected an enum of {', '.join(expected)}"], "")
    details = [f"value {value!r} is missing: existing rows or the application may use it" for value in expected if value not in actual]
    details += [f"value {value!r} is not in the expectations: add it there if it is intended" for value in actual if value not in expected]
    if not details and actual != expected:
        details.append(f"values are in the order ({', '.join(actual)}), expected ({', '.join(expected)}): ENUMs sort by position")
    return _result(check, details, f"{column_name} is enum({', '.join(expected)})")


def _column_check(
    check: _Key, name: str, table: Optional[Table], column_name: str, if_missing: str,
    problems: Callable[[Column], List[str]], passed: Callable[[Column], str],
) -> CheckResult:
    """One column's check: the table and column exist, then ``problems`` lists what is wrong with it."""
    if table is None:
        return _missing_table(name, check)
    column = _column(table, column_name)
    if column is None:
        return _result(check, [f"column {column_name} is missing{if_missing}"], "")
    return _result(check, problems(column), passed(column))


def _json_check(name: str, table: Optional[Table], column_name: str) -> CheckResult:
    return _column_check(
        _Key("SV107", f"json {name}.{column_name}", f"{name}.{column_name}"), name, table, column_name, "",
        lambda column: [] if column.type == "json" else [f"{column_name} is {column.type}, expected JSON (validated by the server)"],
        lambda column: f"{column_name} is JSON",
    )


def _soft_delete_check(name: str, table: Optional[Table], column_name: str) -> CheckResult:
    def problems(column: Column) -> List[str]:
        found = []
        if column.type.split("(")[0] not in ("timestamp", "datetime"):
            found.append(f"{column_name} is {column.type}, expected a nullable timestamp")
        if not column.nullable:
            found.append(f"{column_name} is NOT NULL: live rows need it NULL")
        return found

    return _column_check(
        _Key("SV108", f"soft delete {name}.{column_name}", f"{name}.{column_name}"), name, table, column_name, ": soft-deleted rows would be deleted for real",
        problems, lambda column: f"{column_name} is a nullable {column.type}",
    )


def _polymorphic_check(name: str, table: Optional[Table], prefix: str, tenant_column: Optional[str]) -> CheckResult:
    """``<prefix>_type`` + ``<prefix>_id`` exist and lead an index, optionally after the tenant column."""
    check = _Key("SV109", f"polymorphic {name}.{prefix}", f"{name}.{prefix}")
    if table is None:
        return _missing_table(name, check)
    pair = [f"{prefix}_type", f"{prefix}_id"]
    details = [f"column {column} is missing" for column in pair if _column(table, column) is None]
    if details:
        return _result(check, details, "")
    covering = []
    for index in table.indexes:
        columns = list(index.columns)
        if tenant_column and columns[:1] == [tenant_column]:
            columns = columns[1:]
        if columns[:2] == pair:
            covering.append(index.name)
    if not covering:
        lead = f"({tenant_column}, {', '.join(pair)}) or " if tenant_column else ""
        details.append(f"no index starts with {lead}({', '.join(pair)}): lookups by owner would scan the table")
    return _result(check, details, f"({', '.join(pair)}) indexed by {', '.join(covering)}")


# --------------------------------------------------------------------------- c. verify SQL file
EXPECT_EMPTY = "empty"
EXPECT_VALUE = "value"
EXPECT_COUNT = "count"
EXPECT_ROWS = "rows"

# "-- check: ...", "-- expect: ...", "-- expect rows: ..." (and misspellings such as "-- expect row:", refused).
_ANNOTATION = re.compile(r"^--\s*(check|expect\b[^:]*):(.*)$", re.IGNORECASE)
_ROW_ITEM = re.compile(r"^--\s+-\s(.*)$")
_READ_ONLY_START = re.compile(r"^\(*\s*(SELECT|WITH|SHOW)\b", re.IGNORECASE)
_GRAMMAR = "expect: <value> | expect: empty | expect rows: <N> | expect rows: followed by '--   - <value>' lines"


@dataclass(frozen=True)
class SqlCheck:
    name: str
    source: str
    line: int  # line of the query in its file
    sql: str
    expect: str  # EXPECT_EMPTY, EXPECT_VALUE, EXPECT_COUNT or EXPECT_ROWS
    values: Tuple[str, ...] = ()  # the value, the count, or the rows


def load_verify_sql(path: str) -> List[SqlCheck]:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise SchemagateError(f"Cannot read the verify SQL file {path}: {exc.strerror or exc}; check the path.") from None
    return parse_verify_sql(text, path)


def parse_verify_sql(text: str, source: str = "<verify sql>") -> List[SqlCheck]:
    """The annotated queries of a verify SQL file (grammar: the header of sql/verify_migrations.sql)."""
    lines = text.splitlines()
    statements = split_statements(text, source)
    used_lines: set = set()
    checks: List[SqlCheck] = []
    names: Dict[str, int] = {}
    previous_start = 0
    for statement in statements:
        block = _comment_block(lines, statement.line, previous_start)
        previous_start = statement.line
        check = _annotated_check(statement, block, source)
        used_lines.update(number for number, _line in block)
        if not _READ_ONLY_START.match(statement.sql):
            raise SchemagateError(
                f"{source}: line {statement.line}: only SELECT, WITH and SHOW queries may verify a schema; "
                f"move '{statement.summary(60)}' out of the verify file"
            )
        if check.name in names:
            raise SchemagateError(f"{source}: line {statement.line}: check name {check.name!r} is already used at line {names[check.name]}; rename one")
        names[check.name] = statement.line
        checks.append(check)
    for number, line in enumerate(lines, start=1):
        if number not in used_lines and _ANNOTATION.match(line.strip()):
            raise SchemagateError(f"{source}: line {number}: annotation with no query right below it; add the query or remove the line")
    return checks


def _comment_block(lines: List[str], statement_line: int, previous_start: int) -> List[Tuple[int, str]]:
    """The comment and blank lines right above a statement, as (line number, text)."""
    number = statement_line - 1
    while number > previous_start:
        stripped = lines[number - 1].strip()
        if stripped and not stripped.startswith(("--", "#")):
            break
        number -= 1
    return [(n, lines[n - 1].strip()) for n in range(number + 1, statement_line)]


def _annotated_check(statement: Statement, block: List[Tuple[int, str]], source: str) -> SqlCheck:
    name: Optional[str] = None
    expect: Optional[Tuple[str, Tuple[str, ...]]] = None
    listing = False  # reading the "--   - value" lines of an "expect rows:" list
    rows: List[str] = []
    for number, line in block:
        item = _ROW_ITEM.match(line)
        if listing and item:
            rows.append(item.group(1).strip())
            continue
        listing = False
        match = _ANNOTATION.match(line)
        if not match:
            continue
        keyword = " ".join(match.group(1).lower().split())
        value = match.group(2).strip()
        where = f"{source}: line {number}"
        if keyword == "check":
            if name is not None:
                raise SchemagateError(f"{where}: a second 'check:' before the query at line {statement.line}; give each query one check")
            if not value:
                raise SchemagateError(f"{where}: 'check:' needs a name saying what the query proves")
            name = value
            continue
        if expect is not None:
            raise SchemagateError(f"{where}: a second 'expect' before the query at line {statement.line}; keep one")
        if keyword == "expect" and value:
            expect = (EXPECT_EMPTY, ()) if value.lower() == EXPECT_EMPTY else (EXPECT_VALUE, (value,))
        elif keyword == "expect rows" and value.isdigit():
            expect = (EXPECT_COUNT, (value,))
        elif keyword == "expect rows" and not value:
            expect = (EXPECT_ROWS, ())
            listing = True
        else:
            raise SchemagateError(f"{where}: unknown expectation '{line[2:].strip()}'; use {_GRAMMAR}")
    if expect is not None and expect[0] == EXPECT_ROWS:
        if not rows:
            raise SchemagateError(
                f"{source}: line {statement.line}: 'expect rows:' lists no rows; add '--   - <value>' lines or use 'expect: empty'"
            )
        expect = (EXPECT_ROWS, tuple(rows))
    if name is None:
        raise SchemagateError(f"{source}: line {statement.line}: query has no '-- check: <name>' comment right above it; add one")
    if expect is None:
        raise SchemagateError(f"{source}: line {statement.line}: query has no '-- expect' comment right above it; add one ({_GRAMMAR})")
    return SqlCheck(name=name, source=source, line=statement.line, sql=statement.sql, expect=expect[0], values=expect[1])


def run_sql_checks(conn: Any, database: str, checks: Sequence[SqlCheck]) -> List[CheckResult]:
    """Run each query with ``database`` as current database, in a read-only transaction.

    A query the server rejects is a failed check (the schema may lack what it reads), not an error.
    """
    if not checks:
        return []
    results = []
    with conn.cursor() as cur:
        cur.execute("SELECT DATABASE()")
        previous = cur.fetchone()[0]
        cur.execute(f"USE {quote_identifier(database, 'database name')}")
        cur.execute("START TRANSACTION READ ONLY")
        try:
            for check in checks:
                started = time.monotonic()
                try:
                    cur.execute(check.sql)
                    rows = list(cur.fetchall())
                except MySQLError as exc:
                    failed = f"query at {os.path.basename(check.source)} line {check.line} failed: {error_text(exc)}"
                    result = _result(_Key("SV110", check.name, check.name), [failed], "")
                else:
                    result = _evaluate(check, rows)
                    result.figures["rows"] = len(rows)
                result.seconds = time.monotonic() - started
                results.append(result)
        finally:
            cur.execute("ROLLBACK")
            if previous:
                cur.execute(f"USE {quote_name(str(previous))}")
    return results


def _text(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    return str(value)


def _evaluate(check: SqlCheck, rows: List[Tuple[Any, ...]]) -> CheckResult:
    where = f"query at {os.path.basename(check.source)} line {check.line}"
    shown = [" | ".join(_text(column) for column in row) for row in rows[:_SHOWN_ROWS]]
    if len(rows) > _SHOWN_ROWS:
        shown.append(f"... {len(rows) - _SHOWN_ROWS} more rows")
    details: List[str] = []
    if check.expect == EXPECT_EMPTY:
        if rows:
            details = [f"{where} returned {len(rows)} rows, expected none"] + shown
        passed = "no rows"
    elif check.expect == EXPECT_COUNT:
        wanted = int(check.values[0])
        if len(rows) != wanted:
            details = [f"{where} returned {len(rows)} rows, expected {wanted}"] + shown
        passed = f"{wanted} rows"
    elif check.expect == EXPECT_VALUE:
        wanted_value = check.values[0]
        if len(rows) != 1:
            details = [f"{where} returned {len(rows)} rows, expected one row with {wanted_value}"] + shown
        elif _text(rows[0][0]) != wanted_value:
            details = [f"{where} returned {_text(rows[0][0])}, expected {wanted_value}"]
        passed = wanted_value
    else:
        # Compared as a multiset: row order depends on the server's collation, not on the schema.
        missing = Counter(check.values) - Counter(_text(row[0]) for row in rows)
        unexpected = Counter(_text(row[0]) for row in rows) - Counter(check.values)
        details = [f"row missing: {row}" for row in sorted(missing.elements())]
        details += [f"row not expected: {row}" for row in sorted(unexpected.elements())]
        if details:
            details.insert(0, f"{where} returned {len(rows)} rows, expected the {len(check.values)} listed")
        passed = f"the {len(check.values)} expected rows"
    return _result(_Key("SV110", check.name, check.name), details, f"returned {passed}")


# --------------------------------------------------------------------------- d. generic catalog rules
def tables_without_primary_key(tables: Tables) -> List[str]:
    return sorted(name for name, table in tables.items() if _index(table, "PRIMARY") is None)


def unindexed_foreign_keys(tables: Tables) -> List[str]:
    """Foreign keys whose columns are not the leftmost columns of any index of their table."""
    offenders = []
    for name in sorted(tables):
        table = tables[name]
        for fk in table.foreign_keys:
            width = len(fk.columns)
            if not any(index.columns[:width] == fk.columns for index in table.indexes):
                offenders.append(f"{name}.{fk.name} ({', '.join(fk.columns)}): no index starts with these columns")
    return offenders


def collation_outliers(tables: Tables) -> Tuple[Optional[str], List[str]]:
    """The collation most tables use, and the tables that use another one."""
    counts = Counter(table.collation for table in tables.values())
    if not counts:
        return None, []
    # Most tables win; on a tie, the alphabetically first, so the answer is stable.
    usual = sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))[0][0]
    odd = [f"{name}: {tables[name].collation}" for name in sorted(tables) if tables[name].collation != usual]
    return usual, odd


def generic_checks(tables: Tables, touched: Optional[Sequence[str]] = None) -> List[CheckResult]:
    """The catalog rules: blocking on the tables the migrations create or alter, information on the others."""
    names = sorted(tables) if touched is None else [t for t in sorted(tables) if t in set(touched)]
    others = [t for t in sorted(tables) if t not in set(names)]
    usual, _odd = collation_outliers(tables)
    results: List[CheckResult] = []
    for scope, members, suffix in ((Severity.BLOCK, names, ""), (Severity.INFO, others, " (pre-existing tables)")):
        if scope is Severity.INFO and not members:
            continue
        subset = {t: tables[t] for t in members}
        count = len(subset)
        missing_pk = [
            f"{name}: no PRIMARY KEY; add one (replication and online DDL need it)" for name in tables_without_primary_key(subset)
        ]
        odd = [f"{name}: {subset[name].collation}" for name in members if subset[name].collation != usual]
        odd_details = [f"{line} (the other tables use {usual}): convert it so joins and comparisons need no conversion" for line in odd]
        group = [
            _result(_Key("SV111", "every table has a primary key" + suffix, "*"), missing_pk, f"all {count} tables have a primary key"),
            _result(
                _Key("SV112", "every foreign key is indexed" + suffix, "*"), unindexed_foreign_keys(subset),
                f"every foreign key of the {count} tables leads an index",
            ),
            _result(_Key("SV113", "one collation for all tables" + suffix, "*"), odd_details, f"all {count} tables use {usual}"),
        ]
        if scope is Severity.INFO:
            for result in group:
                result.severity = Severity.INFO
                if not result.passed:
                    result.message = f"production already has this (not introduced by the migrations): {result.message}"
        results += group
    return results
