"""The gate's query benchmark: time annotated queries and check their plans.

A benchmark file (``sql/performance_benchmarks.sql``; its header documents the
grammar) holds read-only SELECTs, each preceded by annotations: a name, the p95
threshold in milliseconds, the index that must serve it and, optionally, a
``params`` query that picks realistic parameter values from the seeded data.

For every query the check warms up, times ``runs`` executions on the open
server connection (``perf_counter`` around execute + fetchall: no process
start-up, no connection set-up) and reads its plan with EXPLAIN. It fails when
the p95 exceeds the threshold, when the optimizer chooses another index than
the expected one, or when it reads a table of more than ``full_scan_rows`` rows
with a full scan. ANALYZE TABLE runs once on the tables involved first, since
the statistics of freshly seeded tables can be stale.

The verdicts (percentiles, threshold, plan) are pure functions, testable
without a server.
"""
from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from ..core.check_registry import Severity
from ..core.checks import CheckResult, skipped_check
from ..core.connection import MySQLError, error_text, quote_identifier, validate_identifier
from ..core.dialect import ExplainLine, ServerInfo, normalize_explain_row
from ..core.errors import SchemagateError
from ..core.sql_script import Statement, split_statements

KNOWN_KEYS = ("benchmark", "description", "threshold_ms", "uses_index", "params", "advisory")
REQUIRED_KEYS = ("benchmark", "description", "threshold_ms", "uses_index")

_ANNOTATION = re.compile(r"^--[ \t]+([a-z_]+):[ \t]*(.*?)[ \t]*$")
_COMMENT = re.compile(r"^[ \t]*--(?:[ \t]|$)")
_NAME = re.compile(r"^[a-z0-9_]{1,64}$")
_IDENTIFIER = r"[A-Za-z0-9_$]{1,64}"
_USES_INDEX = re.compile(rf"^({_IDENTIFIER})\.({_IDENTIFIER})((?:[ \t]*\|[ \t]*{_IDENTIFIER})*)$")
_PLACEHOLDER = re.compile(r"%\(([A-Za-z_][A-Za-z0-9_]*)\)s")
_STRING = r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\""
_LITERALS = re.compile(_STRING, re.DOTALL)
_QUOTED = re.compile(_STRING + r"|`[^`]*`", re.DOTALL)  # string literals and quoted identifiers
_WRITING = re.compile(r"\bINTO\b|\bFOR[ \t\r\n]+(?:UPDATE|SHARE)\b|\bLOCK[ \t\r\n]+IN[ \t\r\n]+SHARE[ \t\r\n]+MODE\b", re.IGNORECASE)
_TABLE_REFERENCE = re.compile(
    rf"\b(?:FROM|JOIN)[ \t\r\n]+`?({_IDENTIFIER})`?(?:[ \t\r\n]+(?:AS[ \t\r\n]+)?`?({_IDENTIFIER})`?)?", re.IGNORECASE
)
# Words that can follow a table reference and so are no alias.
_NOT_ALIAS = frozenset(
    "WHERE JOIN INNER LEFT RIGHT CROSS STRAIGHT_JOIN NATURAL ON USING GROUP ORDER LIMIT HAVING WINDOW UNION "
    "USE FORCE IGNORE PARTITION FOR LOCK INTO EXCEPT INTERSECT".split()
)


@dataclass(frozen=True)
class ExpectedIndex:
    """The index that must serve a query on ``table``: any one of ``indexes``."""

    table: str
    indexes: Tuple[str, ...]

    def describe(self) -> str:
        return f"{self.table}.{' | '.join(self.indexes)}"


@dataclass(frozen=True)
class Benchmark:
    name: str
    description: str
    threshold_ms: float
    expected: Tuple[ExpectedIndex, ...]
    sql: str
    params_sql: Optional[str]
    source: str  # the benchmark file, for messages
    line: int  # where the query starts
    params_line: int = 0  # where its params annotation is, 0 without one
    advisory: str = ""  # why a failure of this query is reported as a warning instead of failing the gate

    @property
    def placeholders(self) -> Set[str]:
        return set(_PLACEHOLDER.findall(self.sql))


# --------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------

def load_benchmarks(path: str) -> List[Benchmark]:
    """The benchmarks of a file; SchemagateError naming file and line on anything malformed."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise SchemagateError(f"Cannot read benchmark file {path}: {exc.strerror or exc}; set benchmark_file to a readable file.") from None
    return parse_benchmarks(text, path)


def parse_benchmarks(text: str, source: str = "<benchmarks>") -> List[Benchmark]:
    lines = text.splitlines()
    statements = split_statements(text, source)
    if not statements:
        raise SchemagateError(f"{source}: holds no query; add annotated SELECT statements (see the grammar in sql/performance_benchmarks.sql).")
    benchmarks: List[Benchmark] = []
    claimed: Set[int] = set()  # block lines that belong to a query
    for statement in statements:
        block = _annotation_block(lines, statement.line)
        claimed.update(number for number, _text in block)
        benchmarks.append(_parse_one(statement, block, source))
    for number, text_line in enumerate(lines, start=1):
        match = _ANNOTATION.match(text_line)
        if match and match.group(1) == "benchmark" and number not in claimed:
            raise SchemagateError(
                f"{source}: line {number}: annotation 'benchmark: {match.group(2)}' is not directly above a query; "
                "put the query right below its annotations (no blank line) or delete them."
            )
    seen: Dict[str, int] = {}
    for bench in benchmarks:
        if bench.name in seen:
            raise SchemagateError(
                f"{source}: line {bench.line}: benchmark name {bench.name!r} is already used by the query at line {seen[bench.name]}; rename one."
            )
        seen[bench.name] = bench.line
    return benchmarks


def _annotation_block(lines: Sequence[str], statement_line: int) -> List[Tuple[int, str]]:
    """The comment lines directly above ``statement_line`` (1-based), top first."""
    block: List[Tuple[int, str]] = []
    number = statement_line - 1
    while number >= 1 and _COMMENT.match(lines[number - 1]):
        block.append((number, lines[number - 1].strip()))
        number -= 1
    block.reverse()
    return block


def _parse_one(statement: Statement, block: Sequence[Tuple[int, str]], source: str) -> Benchmark:
    where = f"{source}: line {statement.line}"
    values: Dict[str, List[Tuple[int, str]]] = {}
    for number, text in block:
        match = _ANNOTATION.match(text)
        if not match:
            continue  # free-text comment
        key, value = match.groups()
        if key not in KNOWN_KEYS:
            raise SchemagateError(f"{source}: line {number}: unknown annotation key {key!r}; use one of {', '.join(KNOWN_KEYS)}.")
        if not value:
            raise SchemagateError(f"{source}: line {number}: annotation {key!r} has no value; write '-- {key}: <value>'.")
        if key in ("benchmark", "description", "threshold_ms", "advisory") and key in values:
            raise SchemagateError(f"{source}: line {number}: annotation {key!r} given twice for one query; keep one.")
        values.setdefault(key, []).append((number, value))
    if "benchmark" not in values:
        raise SchemagateError(
            f"{where}: query has no annotations ({statement.summary(60)}); put '-- benchmark: <name>', description, "
            "threshold_ms and uses_index comment lines directly above it."
        )
    name_line, name = values["benchmark"][0]
    for key in REQUIRED_KEYS:
        if key not in values:
            raise SchemagateError(f"{source}: line {name_line}: benchmark {name!r} lacks '{key}:'; add '-- {key}: <value>' to its annotations.")
    if not _NAME.match(name):
        raise SchemagateError(f"{source}: line {name_line}: benchmark name {name!r} is invalid; use lower-case letters, digits and '_'.")
    threshold_line, threshold_text = values["threshold_ms"][0]
    try:
        threshold = float(threshold_text)
    except ValueError:
        threshold = math.nan
    if not math.isfinite(threshold) or threshold <= 0:
        raise SchemagateError(
            f"{source}: line {threshold_line}: threshold_ms {threshold_text!r} is not a number of milliseconds > 0; write e.g. '-- threshold_ms: 50'."
        )
    expected: List[ExpectedIndex] = []
    for number, value in values["uses_index"]:
        match = _USES_INDEX.match(value)
        if not match:
            raise SchemagateError(f"{source}: line {number}: uses_index {value!r} is malformed; write 'table.index' or 'table.index_a | index_b'.")
        table = match.group(1)
        if any(e.table == table for e in expected):
            raise SchemagateError(f"{source}: line {number}: uses_index names table {table!r} twice; list alternatives on one line with '|'.")
        alternatives = [match.group(2)] + [a.strip() for a in match.group(3).split("|") if a.strip()]
        expected.append(ExpectedIndex(table, tuple(alternatives)))
    _require_read_only(statement.sql, f"{where}: the query")
    params_sql: Optional[str] = None
    params_line = 0
    if "params" in values:
        params_line = values["params"][0][0]
        params_sql = " ".join(value for _number, value in values["params"])
        _require_read_only(params_sql, f"{source}: line {params_line}: the params query")
    if "%" in _PLACEHOLDER.sub("", statement.sql).replace("%%", ""):
        raise SchemagateError(f"{where}: the query has a '%' that is no %(name)s placeholder; write a literal percent sign as %%.")
    placeholders = set(_PLACEHOLDER.findall(statement.sql))
    if placeholders and params_sql is None:
        raise SchemagateError(
            f"{where}: the query uses {', '.join(sorted(placeholders))} but benchmark {name!r} has no params; "
            "add '-- params: SELECT ... AS <placeholder>' naming a column per placeholder."
        )
    return Benchmark(
        advisory=values["advisory"][0][1] if "advisory" in values else "",
        name=name,
        description=values["description"][0][1],
        threshold_ms=threshold,
        expected=tuple(expected),
        sql=statement.sql,
        params_sql=params_sql,
        source=source,
        line=statement.line,
        params_line=params_line,
    )


def _require_read_only(sql: str, what: str) -> None:
    """Accept SELECT (or WITH ... SELECT) that neither writes nor locks rows."""
    first = sql.lstrip("( \t\r\n").split(None, 1)[0].upper() if sql.strip() else ""
    unquoted = _QUOTED.sub("''", sql)
    if first not in ("SELECT", "WITH") or _WRITING.search(unquoted):
        raise SchemagateError(f"{what} is not a read-only SELECT; benchmarks may only read (no INTO, FOR UPDATE or data changes).")


def table_aliases(sql: str) -> Dict[str, str]:
    """Name (alias, or the table itself) -> table, for the tables a query reads with FROM/JOIN."""
    found: Dict[str, str] = {}
    for table, alias in _TABLE_REFERENCE.findall(_LITERALS.sub("''", sql)):
        found[table] = table
        if alias and alias.upper() not in _NOT_ALIAS:
            found[alias] = table
    return found


# --------------------------------------------------------------------------
# Pure verdicts
# --------------------------------------------------------------------------

def percentile(samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least ``pct``% of samples at or below it.

    Always an observed sample, and with few runs it errs high, never low: the p95
    of 30 runs is the second slowest, the p99 the slowest.
    """
    if not samples:
        raise ValueError("percentile of no samples; time the query at least once")
    if not 0 < pct <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {pct!r}")
    ordered = sorted(samples)
    rank = math.ceil(pct / 100 * len(ordered))
    return ordered[max(rank, 1) - 1]


def timing_figures(samples_ms: Sequence[float]) -> Dict[str, float]:
    """p50/p95/p99/max/mean of the timed runs, in milliseconds rounded to µs."""
    return {
        "p50_ms": round(percentile(samples_ms, 50), 3),
        "p95_ms": round(percentile(samples_ms, 95), 3),
        "p99_ms": round(percentile(samples_ms, 99), 3),
        "max_ms": round(max(samples_ms), 3),
        "mean_ms": round(sum(samples_ms) / len(samples_ms), 3),
    }


def _format_ms(value: float, threshold: float) -> str:
    text = f"{value:.1f}"
    if value > threshold >= float(text):  # rounding would hide the excess
        text = f"{value:.3f}"
    return text


def threshold_verdict(p95_ms: float, threshold_ms: float) -> Optional[str]:
    """None when the p95 meets the threshold, else the failure message."""
    if p95_ms > threshold_ms:
        return f"p95 {_format_ms(p95_ms, threshold_ms)} ms > {threshold_ms:g} ms threshold"
    return None


def plan_verdict(
    plan: Sequence[ExplainLine],
    expected: Sequence[ExpectedIndex],
    aliases: Mapping[str, str],
    full_scan_rows: int,
    existing_indexes: Optional[Mapping[str, Set[str]]] = None,
) -> List[str]:
    """What is wrong with a plan (empty when nothing is).

    ``aliases`` maps the names in EXPLAIN's table column to tables (see
    table_aliases); ``existing_indexes`` (table -> index names), when given,
    lets a message say that an expected index does not exist at all.
    """
    problems: List[str] = []
    for want in expected:
        lines = [p for p in plan if p.table is not None and aliases.get(p.table, p.table) == want.table]
        # An index_merge that includes an expected index uses it; what else it merges is a
        # concern (see plan_concerns), bounded by the latency threshold.
        if any(_keys(p.key) & set(want.indexes) for p in lines):
            continue
        if lines:
            chose = ", ".join(_describe_access(p) for p in lines)
        else:
            chose = f"no access to {want.table} in the plan"
        missing = ""
        if existing_indexes is not None and not set(want.indexes) & existing_indexes.get(want.table, set()):
            missing = " (it does not exist)" if len(want.indexes) == 1 else " (none of them exists)"
        problems.append(f"expected index {want.describe()}{missing}, the optimizer chose {chose}")
    for line in plan:
        if (line.access_type or "").upper() == "ALL" and (line.rows or 0) > full_scan_rows:
            table = aliases.get(line.table or "", line.table)
            problems.append(f"full scan of {table} (~{line.rows} rows > {full_scan_rows})")
    return problems


def plan_concerns(plan: Sequence[ExplainLine], expected: Sequence[ExpectedIndex], aliases: Mapping[str, str]) -> List[str]:
    """Index merges that drag in more than the expected index (e.g. all of a company's rows via idx_company)."""
    concerns: List[str] = []
    for want in expected:
        for line in plan:
            keys = _keys(line.key)
            if aliases.get(line.table or "", line.table) == want.table and keys & set(want.indexes) and keys - set(want.indexes):
                extra = ", ".join(sorted(keys - set(want.indexes)))
                concerns.append(f"{want.table}: index_merge also reads {extra} besides the expected index ({line.key}, ~{line.rows} rows)")
    return concerns


def _keys(key: Optional[str]) -> Set[str]:
    return {k.strip() for k in key.split(",")} if key else set()


def _describe_access(line: ExplainLine) -> str:
    key = line.key or "no index"
    return f"{key} ({line.access_type or '?'}, ~{line.rows if line.rows is not None else '?'} rows)"


def describe_plan_line(line: ExplainLine) -> Dict[str, Any]:
    return {"table": line.table, "type": line.access_type, "key": line.key, "rows": line.rows}


# --------------------------------------------------------------------------
# Running against a server
# --------------------------------------------------------------------------

def run_benchmarks(
    conn: Any,
    server: ServerInfo,
    database: str,
    benchmark_file: Optional[str],
    warmup: int = 3,
    runs: int = 30,
    full_scan_rows: int = 1000,
) -> List[CheckResult]:
    """One CheckResult per query of ``benchmark_file``, run in ``database`` (selected on ``conn``).

    Each query runs inside START TRANSACTION READ ONLY, so call it on a
    connection without a transaction of its own (autocommit). A query error, or
    a params query without a row, fails that query's check; a malformed file or
    a params query that does not match the placeholders raises SchemagateError.
    """
    if warmup < 0 or runs < 1 or full_scan_rows < 0:
        raise SchemagateError(f"warmup must be >= 0, runs >= 1 and full_scan_rows >= 0 (got {warmup}, {runs}, {full_scan_rows}).")
    validate_identifier(database, "database name")
    if not benchmark_file:
        return [skipped_check("BM102", "benchmark queries", "no benchmark file (gate_benchmark_file): no query was timed")]
    benchmarks = load_benchmarks(benchmark_file)
    aliases = {b.name: table_aliases(b.sql) for b in benchmarks}
    try:
        conn.select_db(database)
        with conn.cursor() as cur:
            involved = {t for a in aliases.values() for t in a.values()} | {e.table for b in benchmarks for e in b.expected}
            existing = _existing_indexes(cur, database, involved)
            analyzed = _analyze(cur, sorted(existing))
            restore_cache = _disable_query_cache(cur, server)
            try:
                return [
                    _run_one(cur, server, bench, aliases[bench.name], existing, analyzed, warmup, runs, full_scan_rows)
                    for bench in benchmarks
                ]
            finally:
                if restore_cache:
                    cur.execute(restore_cache)
    except MySQLError as exc:
        raise SchemagateError(f"The benchmark of database {database!r} stopped: {error_text(exc)}") from None


def _existing_indexes(cur: Any, database: str, tables: Set[str]) -> Dict[str, Set[str]]:
    """Table -> its index names, for those of ``tables`` that exist in ``database``.

    SHOW INDEX rather than information_schema.STATISTICS: the latter silently
    leaves out a table it cannot open at that moment (seen right after a bulk
    load), which would report an existing index as missing.
    """
    cur.execute(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE'", (database,)
    )
    present = {row[0] for row in cur.fetchall()} & tables
    found: Dict[str, Set[str]] = {}
    for table in sorted(present):
        cur.execute(f"SHOW INDEX FROM {quote_identifier(table, 'table name')}")
        key_name = [d[0].lower() for d in cur.description].index("key_name")
        found[table] = {row[key_name] for row in cur.fetchall()}
    return found


def _analyze(cur: Any, tables: Sequence[str]) -> List[str]:
    """ANALYZE TABLE once, so plans rest on current statistics; the tables it analyzed."""
    if not tables:
        return []
    cur.execute("ANALYZE TABLE " + ", ".join(quote_identifier(t, "table name") for t in tables))
    failed = {str(row[0]).rsplit(".", 1)[-1] for row in cur.fetchall() if str(row[2]).lower() == "error"}
    return [t for t in tables if t not in failed]


def _disable_query_cache(cur: Any, server: ServerInfo) -> Optional[str]:
    """Turn the query cache off for this session (cached answers would time nothing); the statement restoring it."""
    if not server.has_query_cache:
        return None
    cur.execute("SELECT @@SESSION.query_cache_type")
    previous = str(cur.fetchone()[0])
    if previous.upper() == "OFF":
        return None
    cur.execute("SET SESSION query_cache_type = OFF")
    return f"SET SESSION query_cache_type = {'DEMAND' if previous.upper() == 'DEMAND' else 'ON'}"


def _run_one(
    cur: Any,
    server: ServerInfo,
    bench: Benchmark,
    aliases: Mapping[str, str],
    existing: Mapping[str, Set[str]],
    analyzed: Sequence[str],
    warmup: int,
    runs: int,
    full_scan_rows: int,
) -> CheckResult:
    started = time.perf_counter()
    figures: Dict[str, Any] = {
        "threshold_ms": bench.threshold_ms,
        "description": bench.description,
        "expected_index": [e.describe() for e in bench.expected],
        "line": bench.line,
        "analyzed_tables": [t for t in analyzed if t in set(aliases.values()) | {e.table for e in bench.expected}],
    }
    result = CheckResult("BM101", bench.name, False, figures=figures, subject=bench.name)
    cur.execute("START TRANSACTION READ ONLY")
    try:
        params = _resolve_params(cur, bench)
        if params is None:
            result.message = (
                f"params query (line {bench.params_line}) returned no row or a NULL; the seeded data has nothing "
                "this query can look up: seed the tables it reads"
            )
            return result
        figures["params"] = {k: _plain(v) for k, v in params.items()}
        cur.execute(f"{server.explain_prefix} {bench.sql}", params)
        names = [d[0] for d in cur.description]
        plan = [normalize_explain_row(dict(zip(names, row))) for row in cur.fetchall()]
        figures["plan"] = [describe_plan_line(p) for p in plan]
        for _run in range(warmup):
            cur.execute(bench.sql, params)
            cur.fetchall()
        samples: List[float] = []
        rows: Tuple[Any, ...] = ()
        for _run in range(runs):
            begin = time.perf_counter()
            cur.execute(bench.sql, params)
            rows = cur.fetchall()
            samples.append((time.perf_counter() - begin) * 1000.0)
    except MySQLError as exc:
        result.message = f"query failed: {error_text(exc)}"
        return result
    finally:
        cur.execute("ROLLBACK")
        result.seconds = time.perf_counter() - started
    figures.update(timing_figures(samples))
    figures["runs"] = runs
    figures["warmup"] = warmup
    figures["rows_returned"] = len(rows)
    result.details = [
        f"{p.table} {p.access_type} key={p.key or '-'} rows~{p.rows if p.rows is not None else '?'}" for p in plan
    ]
    plan_problems = plan_verdict(plan, bench.expected, aliases, full_scan_rows, existing)
    figures["plan_ok"] = not plan_problems
    slow = threshold_verdict(figures["p95_ms"], bench.threshold_ms)
    problems = ([slow] if slow else []) + plan_problems
    result.passed = not problems
    figures["advisory"] = bool(bench.advisory)
    if problems and bench.advisory:
        # A known, documented weakness: shown on every run, blocking no deploy.
        result.severity = Severity.WARN
        result.message = "advisory only: " + "; ".join(problems)
        result.warning = f"{'; '.join(problems)} (advisory: {bench.advisory})"
    elif problems:
        result.message = "; ".join(problems)
    else:
        result.message = (
            f"p95 {figures['p95_ms']:.2f} ms <= {bench.threshold_ms:g} ms threshold; "
            f"uses {', '.join(e.describe() for e in bench.expected)}"
        )
    concerns = plan_concerns(plan, bench.expected, aliases)
    if concerns and not result.warning:
        result.warning = "; ".join(concerns)
    if not rows:
        empty = "the query returned no rows, so it measured an empty lookup; check its params against the seeded data"
        result.warning = f"{result.warning}; {empty}" if result.warning else empty
    return result


def _resolve_params(cur: Any, bench: Benchmark) -> Optional[Dict[str, Any]]:
    """Placeholder values from the params query; None when it finds nothing to look up."""
    if bench.params_sql is None:
        return {}
    cur.execute(bench.params_sql)
    columns = [d[0] for d in cur.description]
    rows = cur.fetchall()
    unused = set(columns) - bench.placeholders
    missing = bench.placeholders - set(columns)
    if missing or unused:
        raise SchemagateError(
            f"{bench.source}: line {bench.params_line}: the params columns ({', '.join(columns)}) do not match the "
            f"placeholders of benchmark {bench.name!r} ({', '.join(sorted(bench.placeholders)) or 'none'}); "
            "name one column per placeholder (SELECT ... AS <placeholder>)."
        )
    if len(rows) > 1:
        raise SchemagateError(
            f"{bench.source}: line {bench.params_line}: the params query of benchmark {bench.name!r} returned {len(rows)} rows; "
            "make it return one (add LIMIT 1)."
        )
    if not rows or any(value is None for value in rows[0]):
        return None
    return dict(zip(columns, rows[0]))


def _plain(value: Any) -> Any:
    """A JSON-friendly copy of a parameter value (dates and decimals as text)."""
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)
