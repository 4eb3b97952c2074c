"""Fill empty tables of any schema with synthetic, FK-consistent rows, fast.

The foreign-key graph is read from the catalog, so the seeder knows nothing of
any one application: parents are filled before children, every foreign key
points at an existing parent row, and where child and parent both carry the
tenant column (configurable, e.g. ``company_id``; none by default) the parent is
picked inside the child's tenant. The columns of one composite key come from
one parent row; keys that share columns pick parents that agree on them. A
cycle is broken at a nullable key, filled once its parent has rows. Constraints
stay checked: a generated row that breaks a foreign key, a unique key or a CHECK
is skipped (INSERT IGNORE), never left behind as an orphan.
Each table is one server-side ``INSERT ... SELECT`` over a generated numbers
source; parent keys come from numbered temporary tables, so no row ever
crosses the wire.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from ..core.catalog import read_tables
from ..core.connection import MySQLError, error_text, quote_identifier
from ..core.dialect import ServerInfo
from ..core.errors import SchemagateError
from ..core.numbers import numbers_source
from ..core.schema_model import Column, ForeignKey, Table

_TWO_32 = 4294967296
_ENUM = re.compile(r"^(enum|set)\((.*)\)$")
_SIZED = re.compile(r"^(var)?char\((\d+)\)")
_DECIMAL = re.compile(r"^decimal\((\d+),(\d+)\)")
_INTEGER = re.compile(r"^(tinyint|smallint|mediumint|int|bigint)\b")
_MAX_INT = {"tinyint": 127, "smallint": 32767, "mediumint": 8388607, "int": 2147483647, "bigint": 9223372036854775807}
# Laravel morph class names, as the application stores them in *_type columns.
_POLYMORPHIC_TYPES = ("App\\Models\\Company", "App\\Models\\Branch", "App\\Models\\Service", "App\\Models\\Staff")


@dataclass(frozen=True)
class SeedPlan:
    rows: Mapping[str, int] = field(default_factory=dict)  # rows per table; others get default_rows
    default_rows: int = 1000
    tenant_column: str = ""  # '' = the application has no tenant column
    scale: float = 1.0  # multiplies every table's rows

    def rows_for(self, table: str) -> int:
        planned = int(self.rows.get(table, self.default_rows))
        return 0 if planned <= 0 else max(1, int(round(planned * self.scale)))


@dataclass
class SeedResult:
    rows: Dict[str, int] = field(default_factory=dict)
    skipped: Dict[str, str] = field(default_factory=dict)  # table -> why it was left alone
    refused: Dict[str, int] = field(default_factory=dict)  # table -> generated rows a constraint refused (not inserted)
    table_seconds: Dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def as_dict(self) -> Dict[str, Any]:
        rate = self.total_rows / self.seconds if self.seconds > 0 else 0.0
        return {
            "rows": dict(self.rows),
            "skipped": dict(self.skipped),
            "refused": dict(self.refused),
            "table_seconds": dict(self.table_seconds),
            "total_rows": self.total_rows,
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(rate),
        }


def seed_database(
    conn: Any, server: ServerInfo, database: str, plan: SeedPlan, exclude: Sequence[str] = ()
) -> SeedResult:
    """Fill every empty table of ``database`` (except ``exclude``) following the FK graph."""
    for table, count in plan.rows.items():
        if int(count) < 0:
            raise SchemagateError(f"Seed rows for {table} must be >= 0, got {count}.")
    started = time.monotonic()
    tables = with_conventional_references(read_tables(conn, database, server, exclude=exclude))
    result = SeedResult()
    with conn.cursor() as cur:
        cur.execute(f"USE {quote_identifier(database)}")
        empty = {name for name in tables if _is_empty(cur, name)}
        for name in sorted(set(tables) - empty):
            result.skipped[name] = "already has rows"
        # Constraints stay checked (foreign_key_checks is never turned off): no orphan can be left behind.
        available = set(tables) - empty
        deferred: List[Any] = []
        name = ""
        try:
            for name in _parents_first(tables):
                if name not in empty:
                    continue
                count = plan.rows_for(name)
                if count == 0:
                    result.skipped[name] = "0 rows planned"
                    continue
                table_started = time.monotonic()
                mine: List[ForeignKey] = []
                result.rows[name] = _fill(cur, tables, name, count, plan.tenant_column, available, mine)
                if result.rows[name] < count:
                    result.refused[name] = count - result.rows[name]
                deferred += [(name, fk) for fk in mine]
                if result.rows[name]:
                    available.add(name)
                result.table_seconds[name] = round(time.monotonic() - table_started, 3)
            for name, fk in deferred:
                if fk.references in available:
                    _link_deferred(cur, tables, name, fk)
        except MySQLError as exc:
            raise SchemagateError(f"Seeding {database!r} failed on table {name}: {error_text(exc)}") from None
    result.seconds = time.monotonic() - started
    return result


def with_conventional_references(tables: Dict[str, Table]) -> Dict[str, Table]:
    """Add the references Laravel naming implies but the schema does not declare.

    Legacy tables often skip foreign keys (``appointments.customer_id`` has
    none), yet their data must still point at real rows for the rehearsal to be
    realistic. ``<name>_id`` is taken to reference ``<name>s``/``<name>es``/
    ``<name>`` (or ``...ies``) when that table has a one-column primary key of
    the same type. Only the seeder uses these; checks see declared keys only.
    """
    completed: Dict[str, Table] = {}
    for name, table in tables.items():
        declared = {fk.columns for fk in table.foreign_keys}
        columns = set(table.column_names)
        implied: List[ForeignKey] = []
        for column in table.columns:
            col = column.name
            if not col.endswith("_id") or (col,) in declared or col[:-3] + "_type" in columns:
                continue
            stem = col[:-3]
            for candidate in (stem + "s", stem + "es", stem, stem[:-1] + "ies"):
                key = _single_primary_key(tables.get(candidate))
                if candidate != name and key and key.type == column.type:
                    implied.append(ForeignKey(f"(convention) {col}", (col,), candidate, (key.name,), "RESTRICT", "RESTRICT"))
                    break
        completed[name] = replace(table, foreign_keys=table.foreign_keys + tuple(implied)) if implied else table
    return completed


def _single_primary_key(table: Optional[Table]) -> Optional[Column]:
    if table is None:
        return None
    primary = table.primary_key
    if primary is None or len(primary.columns) != 1:
        return None
    return table.column(str(primary.columns[0]))


def _is_empty(cur: Any, table: str) -> bool:
    cur.execute(f"SELECT EXISTS (SELECT 1 FROM {quote_identifier(table)})")
    return not cur.fetchone()[0]


def _parents_first(tables: Mapping[str, Table]) -> List[str]:
    """Tables ordered so that every parent comes before its children; cycles broken at nullable FKs."""
    def parents(name: str, strict: bool) -> Set[str]:
        found = set()
        columns = {c.name: c for c in tables[name].columns}
        for fk in tables[name].foreign_keys:
            ref = fk.references
            if ref == name or ref not in tables:
                continue
            if strict or not all(columns[c].nullable for c in fk.columns):
                found.add(ref)
        return found

    for strict in (True, False):
        ordered: List[str] = []
        remaining = {name: parents(name, strict) for name in tables}
        while remaining:
            ready = sorted(name for name, deps in remaining.items() if not deps - set(ordered))
            if not ready:
                break
            ordered.extend(ready)
            for name in ready:
                del remaining[name]
        if not remaining:
            return ordered
    raise SchemagateError("Cannot seed: NOT NULL foreign keys form a cycle; seed those tables yourself.")


def _hash(salt: int) -> str:
    multiplier = (2654435761 * (salt + 1)) % _TWO_32 | 1
    return f"((nums.n * {multiplier} + {salt * 40503}) % {_TWO_32})"


class _InsertBuilder:
    """Collects the SELECT list and the joins of one table's INSERT ... SELECT."""

    def __init__(self, cur: Any, tables: Mapping[str, Table], name: str, tenant_column: str) -> None:
        self.cur = cur
        self.tables = tables
        self.name = name
        self.table = tables[name]
        self.tenant_column = tenant_column
        self.columns = {c.name: c for c in self.table.columns}
        self.joins: List[str] = []
        self.values: Dict[str, str] = {}
        self.temporary: List[str] = []
        self.salt = 0
        self.shared: Set[str] = set()  # columns two foreign keys share: never left NULL by one of them

    def next_salt(self) -> int:
        self.salt += 1
        return self.salt

    def pick_parent(self, fk: ForeignKey) -> None:
        """Join a numbered copy of the parent's keys and take the FK columns from one parent row.

        Columns this row already has (another foreign key's, or the tenant) constrain the pick: the
        parent row is chosen among those that match them, so overlapping and composite keys all point
        at rows that exist. A row for which no parent matches is not generated.
        """
        index = len(self.temporary)
        pick = f"sg_pick_{index}"
        parent = fk.references
        ref_cols = ", ".join(quote_identifier(c) for c in fk.ref_columns)
        # (parent column, the value this row already has for it)
        bound = [(ref, self.values[col]) for col, ref in zip(fk.columns, fk.ref_columns) if col in self.values]
        if self.tenant_column and self.tenant_column in self.values and self.tenant_column not in fk.columns \
                and self._parent_has_tenant(parent):
            bound.append((self.tenant_column, self.values[self.tenant_column]))
        self.temporary.append(pick)
        if bound:
            keys = [f"k{position}" for position in range(len(bound))]
            key_select = ", ".join(f"{quote_identifier(column)} AS {key}" for (column, _v), key in zip(bound, keys))
            partition = ", ".join(quote_identifier(column) for column, _v in bound)
            self.cur.execute(
                f"CREATE TEMPORARY TABLE {pick} (PRIMARY KEY ({', '.join(keys)}, rn)) ENGINE=MEMORY AS SELECT {key_select}, "
                f"ROW_NUMBER() OVER (PARTITION BY {partition} ORDER BY {ref_cols}) AS rn, {ref_cols} "
                f"FROM {quote_identifier(parent)} WHERE {' AND '.join(f'{quote_identifier(c)} IS NOT NULL' for c, _v in bound)}"
            )
            counts = f"sg_count_{index}"
            self.temporary.append(counts)
            self.cur.execute(
                f"CREATE TEMPORARY TABLE {counts} (PRIMARY KEY ({', '.join(keys)})) ENGINE=MEMORY AS "
                f"SELECT {', '.join(keys)}, COUNT(*) AS cnt FROM {pick} GROUP BY {', '.join(keys)}"
            )
            on_counts = " AND ".join(f"{counts}.{key} = {value}" for key, (_c, value) in zip(keys, bound))
            on_pick = " AND ".join(f"{pick}.{key} = {counts}.{key}" for key in keys)
            self.joins.append(f"JOIN {counts} ON {on_counts}")
            self.joins.append(f"JOIN {pick} ON {on_pick} AND {pick}.rn = 1 + {self._hash()} % {counts}.cnt")
        else:
            self.cur.execute(
                f"CREATE TEMPORARY TABLE {pick} (PRIMARY KEY (rn)) ENGINE=MEMORY AS SELECT "
                f"ROW_NUMBER() OVER (ORDER BY {ref_cols}) AS rn, {ref_cols} FROM {quote_identifier(parent)}"
            )
            self.cur.execute(f"SELECT COUNT(*) FROM {pick}")
            total = self.cur.fetchone()[0]
            if total == 0:
                raise SchemagateError(f"Cannot seed {self.name}: its parent table {parent} is empty; seed it first.")
            self.joins.append(f"JOIN {pick} ON {pick}.rn = 1 + {self._hash()} % {total}")
        nullable = all(self.columns[c].nullable for c in fk.columns) and not set(fk.columns) & self.shared \
            and self.tenant_column not in fk.columns
        absent = self._hash()  # one decision per key: all of its columns NULL, or none
        for column, ref in zip(fk.columns, fk.ref_columns):
            if column in self.values:
                continue  # bound above: the parent row matches it
            value = f"{pick}.{quote_identifier(ref)}"
            # Optional references are sometimes absent, as in real data.
            self.values[column] = f"IF({absent} % 10 = 0, NULL, {value})" if nullable else value

    def _parent_has_tenant(self, parent: str) -> bool:
        if parent == self.name or parent not in self.tables:
            return False
        return self.tables[parent].column(self.tenant_column) is not None

    def _hash(self) -> str:
        return _hash(self.next_salt())

    def drop_temporary(self) -> None:
        for table in self.temporary:
            self.cur.execute(f"DROP TEMPORARY TABLE IF EXISTS {table}")


def _fk_order(fks: Sequence[ForeignKey], tenant_column: str) -> List[ForeignKey]:
    """The tenant's key first, then wider keys before narrower ones (they bind more columns), by name."""
    return sorted(fks, key=lambda fk: (fk.columns != (tenant_column,), -len(fk.columns), fk.name))


def _fill(
    cur: Any, tables: Mapping[str, Table], name: str, count: int, tenant_column: str, available: Set[str],
    deferred: List[ForeignKey],
) -> int:
    """Insert ``count`` rows into ``name``; optional keys to tables not filled yet are left NULL and added to ``deferred``."""
    builder = _InsertBuilder(cur, tables, name, tenant_column)
    table = tables[name]
    try:
        fks = []
        for fk in table.foreign_keys:
            if fk.references == name:
                continue
            if fk.references not in available and all(builder.columns[c].nullable for c in fk.columns):
                deferred.append(fk)  # a cycle broken here: linked once its parent has rows
                continue
            fks.append(fk)
        seen: Set[str] = set()
        for fk in fks:
            builder.shared.update(c for c in fk.columns if c in seen)
            seen.update(fk.columns)
        for fk in _fk_order(fks, tenant_column):
            builder.pick_parent(fk)
        for fk in list(table.foreign_keys):
            if fk.references == name or fk in deferred:  # linked after the insert
                builder.values.update({column: "NULL" for column in fk.columns if column not in builder.values})
        unique_columns = _discriminators(table, builder.values)
        insert_columns: List[str] = []
        select_values: List[str] = []
        for column in table.columns:
            column_name = column.name
            if column.auto_increment or column.generated:
                continue
            if column_name in builder.values:
                value = builder.values[column_name]
            else:
                value = _value(column, table, builder, column_name in unique_columns)
            insert_columns.append(quote_identifier(column_name))
            select_values.append(value)
        # Foreign-key, unique and CHECK constraints stay on: a generated row that breaks one is skipped
        # (IGNORE), so the seed never leaves an orphan or a duplicate behind.
        sql = (
            f"INSERT IGNORE INTO {quote_identifier(name)} ({', '.join(insert_columns)}) "
            f"SELECT STRAIGHT_JOIN {', '.join(select_values)} FROM {numbers_source(count)} {' '.join(builder.joins)}"
        )
        cur.execute(sql)
        inserted = cur.rowcount
        _link_self_references(cur, table, name)
        return inserted
    finally:
        builder.drop_temporary()


def _link_deferred(cur: Any, tables: Mapping[str, Table], child: str, fk: ForeignKey) -> None:
    """Point nine rows in ten of ``child`` at rows of the parent it could not reference when it was filled."""
    table = tables[child]
    identity = table.primary_key.column_names if table.primary_key is not None else table.column_names
    refs = ", ".join(quote_identifier(c) for c in fk.ref_columns)
    cur.execute("DROP TEMPORARY TABLE IF EXISTS sg_cycle")
    cur.execute(
        f"CREATE TEMPORARY TABLE sg_cycle (PRIMARY KEY (rn)) ENGINE=MEMORY AS SELECT ROW_NUMBER() OVER (ORDER BY {refs}) AS rn, {refs} "
        f"FROM {quote_identifier(fk.references)} WHERE {' AND '.join(f'{quote_identifier(c)} IS NOT NULL' for c in fk.ref_columns)}"
    )
    try:
        cur.execute("SELECT COUNT(*) FROM sg_cycle")
        total = cur.fetchone()[0]
        if not total:
            return
        row_hash = f"CRC32(CONCAT_WS(',', {', '.join(f'c.{quote_identifier(c)}' for c in identity)}))"
        assign = ", ".join(f"c.{quote_identifier(col)} = p.{quote_identifier(ref)}" for col, ref in zip(fk.columns, fk.ref_columns))
        cur.execute(
            f"UPDATE IGNORE {quote_identifier(child)} c JOIN sg_cycle p ON p.rn = 1 + {row_hash} % {total} "
            f"SET {assign} WHERE {row_hash} % 10 <> 0"
        )
    finally:
        cur.execute("DROP TEMPORARY TABLE IF EXISTS sg_cycle")


def _discriminators(table: Table, fk_values: Mapping[str, str]) -> Set[str]:
    """For each unique key, one column made unique per row, so generated rows never collide."""
    columns = {c.name: c for c in table.columns}
    chosen: Set[str] = set()
    for index in table.indexes:
        if not index.unique or index.primary:
            continue
        names = index.column_names
        candidates = [
            n for n in names
            if n not in fk_values and not _ENUM.match(columns[n].type) and columns[n].type != "tinyint(1)"
            and not (n.endswith("_type") and n[:-5] + "_id" in columns)
            and not columns[n].nullable
        ]
        if candidates:
            ids = [n for n in candidates if n.endswith("_id")]  # an entity id reads best as the unique part
            chosen.add(ids[0] if ids else candidates[-1])
    for index in table.indexes:
        if index.primary:
            chosen.update(c for c in index.column_names if not columns[c].auto_increment)
    return chosen


_NUMBER = r"(-?\d+(?:\.\d+)?)"


def check_range(table: Table, column: str) -> Optional[Tuple[float, float]]:
    """The bounds simple CHECK clauses put on a numeric column (BETWEEN, <, <=, >, >=), else None."""
    low, high = None, None
    quoted = rf"`?{re.escape(column)}`?"
    for check in table.checks:
        clause = check.clause.lower()
        between = re.search(rf"{quoted}\s+between\s+{_NUMBER}\s+and\s+{_NUMBER}", clause)
        if between:
            low, high = float(between.group(1)), float(between.group(2))
            continue
        for operator, number in re.findall(rf"{quoted}\s*(>=|<=|>|<)\s*{_NUMBER}", clause):
            bound = float(number)
            if operator in (">", ">="):
                low = bound + (1 if operator == ">" else 0)
            else:
                high = bound - (1 if operator == "<" else 0)
    if low is None and high is None:
        return None
    return (low if low is not None else 0.0, high if high is not None else (low or 0.0) + 1000)


def _value(column: Column, table: Table, builder: _InsertBuilder, unique: bool) -> str:
    name, kind = column.name, column.type
    salt = builder.next_salt()
    hashed = _hash(salt)
    siblings = set(table.column_names)
    bounds = check_range(table, name) if table.checks and not unique else None
    if bounds is not None and (_INTEGER.match(kind) or _DECIMAL.match(kind) or kind.startswith(("float", "double"))):
        low, high = int(bounds[0]), int(bounds[1])
        if high >= low:  # a value inside what the CHECK allows, so rows are not skipped for it
            return f"({low} + {hashed} % {high - low + 1})"
    value = _typed_value(name, kind, hashed, unique, siblings)
    if name == "deleted_at" and column.nullable:
        return f"IF(nums.n % 20 = 1, {value}, NULL)"  # 5% soft-deleted, and row 1 even in tiny data
    if column.nullable and name.endswith("_at") and name not in ("created_at", "updated_at"):
        return f"IF({hashed} % 10 < 3, NULL, {value})"  # optional timestamps: not every row reached that state
    return value


def _typed_value(name: str, kind: str, hashed: str, unique: bool, siblings: Set[str]) -> str:
    enum = _ENUM.match(kind)
    if enum:
        options = enum.group(2)
        size = len(re.findall(r"'(?:[^']|'')*'", options))
        return f"ELT(1 + {hashed} % {size}, {options})"
    if kind == "json":
        return "JSON_OBJECT('seq', nums.n, 'source', 'schemagate-seed')"
    if kind == "tinyint(1)":
        return f"IF({hashed} % 10 < 8, 1, 0)"
    integer = _INTEGER.match(kind)
    if integer:
        if unique or (name.endswith("_id") and name[:-3] + "_type" in siblings):
            return "(nums.n + 1)"
        ceiling = min(_MAX_INT[integer.group(1)], 1000)
        return f"({hashed} % {ceiling})"
    decimal = _DECIMAL.match(kind)
    if decimal:
        precision, scale = int(decimal.group(1)), int(decimal.group(2))
        whole = 10 ** min(precision - scale, 4)
        return f"ROUND(({hashed} % {whole * 100}) / 100, {scale})"
    if kind.startswith(("float", "double")):
        return f"(({hashed} % 100000) / 100)"
    if kind == "date":
        return "DATE_ADD(DATE '2000-01-01', INTERVAL nums.n DAY)" if unique else f"(CURDATE() - INTERVAL ({hashed} % 365) DAY)"
    if kind.startswith(("timestamp", "datetime")):
        if unique:
            return "FROM_UNIXTIME(1000000000 + nums.n)"
        return f"(NOW() - INTERVAL ({hashed} % 31536000) SECOND)"  # spread over the last year
    if kind.startswith("time"):
        return f"SEC_TO_TIME({hashed} % 86400)"
    if kind.startswith("year"):
        return f"(2000 + {hashed} % 30)"
    sized = _SIZED.match(kind)
    if sized:
        length = int(sized.group(2))
        if name.endswith("_type") and name[:-5] + "_id" in siblings:
            return f"ELT(1 + {hashed} % {len(_POLYMORPHIC_TYPES)}, {', '.join(_sql_string(t) for t in _POLYMORPHIC_TYPES)})"
        if length == 36:  # UUID-shaped, unique per row (MD5 of the row number)
            digest = f"MD5(CONCAT('{name[:20]}', nums.n))"
            return (
                f"CONCAT_WS('-', LEFT({digest}, 8), MID({digest}, 9, 4), MID({digest}, 13, 4), "
                f"MID({digest}, 17, 4), RIGHT({digest}, 12))"
            )
        if "phone" in name:
            return f"LEFT(CONCAT('+49 30 ', 1000000 + {hashed} % 9000000), {length})"
        text = f"CONCAT('{name[:20]}-', nums.n)" if unique else f"CONCAT('{name[:20]}-', {hashed} % 5000)"
        return f"LEFT({text}, {length})"
    if "text" in kind or "blob" in kind:
        return f"CONCAT('Generated {name} for row ', nums.n)"
    if kind.startswith(("binary", "varbinary")):
        return "UNHEX(MD5(nums.n))"
    raise SchemagateError(f"Cannot generate values for column {name} of type {kind}: seed this table yourself or exclude it.")


def _sql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _link_self_references(cur: Any, table: Table, name: str) -> None:
    """Point one row in ten (and the second row, even in tiny data) at the row before it, for self-references.

    A composite self-reference such as (org_id, parent_id) -> (org_id, id) keeps the shared columns
    equal: rows are numbered within each value of them, and linked to the previous row of the same one.
    """
    for fk in table.foreign_keys:
        if fk.references != name:
            continue
        pairs = list(zip(fk.columns, fk.ref_columns))
        same = [quote_identifier(col) for col, ref in pairs if col == ref]
        linked = [(col, ref) for col, ref in pairs if col != ref]
        if len(linked) != 1:
            continue
        column, ref = (quote_identifier(c) for c in linked[0])
        quoted = quote_identifier(name)
        partition = f"PARTITION BY {', '.join(same)} " if same else ""
        shared_keys = "".join(f", {c}" for c in same)
        cur.execute("DROP TEMPORARY TABLE IF EXISTS sg_self")
        cur.execute(
            f"CREATE TEMPORARY TABLE sg_self ENGINE=MEMORY AS SELECT {ref} AS ref{shared_keys}, "
            f"ROW_NUMBER() OVER ({partition}ORDER BY {ref}) AS rn FROM {quoted} WHERE {ref} IS NOT NULL"
            + "".join(f" AND {c} IS NOT NULL" for c in same)
        )
        try:
            cur.execute("CREATE TEMPORARY TABLE sg_self_prev ENGINE=MEMORY AS SELECT * FROM sg_self")
            same_partition = "".join(f" AND prev.{c} = me.{c}" for c in same)
            cur.execute(
                f"UPDATE IGNORE {quoted} child JOIN sg_self me ON me.ref = child.{ref}"
                + "".join(f" AND me.{c} = child.{c}" for c in same)
                + f" JOIN sg_self_prev prev ON prev.rn = me.rn - 1{same_partition} "
                f"SET child.{column} = prev.ref WHERE me.rn % 10 = 2"
            )
        finally:
            cur.execute("DROP TEMPORARY TABLE IF EXISTS sg_self")
            cur.execute("DROP TEMPORARY TABLE IF EXISTS sg_self_prev")
