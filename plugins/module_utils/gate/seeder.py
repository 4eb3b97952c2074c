"""Fill empty tables of any schema with synthetic, FK-consistent rows, fast.

The foreign-key graph is read from the catalog, so the seeder knows nothing of
the Phase B tables: parents are filled before children, every foreign key
points at an existing parent row, and where child and parent both carry the
tenant column (``company_id``) the parent is picked inside the child's tenant.
Each table is one server-side ``INSERT ... SELECT`` over a generated numbers
source; parent keys come from numbered temporary tables, so no row ever
crosses the wire.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set

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
    tenant_column: str = "company_id"

    def rows_for(self, table: str) -> int:
        return int(self.rows.get(table, self.default_rows))


@dataclass
class SeedResult:
    rows: Dict[str, int] = field(default_factory=dict)
    skipped: Dict[str, str] = field(default_factory=dict)  # table -> why it was left alone
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
        # Our keys are consistent by construction and the integrity step re-proves it: skip per-row checks.
        cur.execute("SET SESSION foreign_key_checks = 0, unique_checks = 0")
        try:
            for name in _parents_first(tables):
                if name not in empty:
                    continue
                count = plan.rows_for(name)
                if count == 0:
                    result.skipped[name] = "0 rows planned"
                    continue
                table_started = time.monotonic()
                result.rows[name] = _fill(cur, tables, name, count, plan.tenant_column)
                result.table_seconds[name] = round(time.monotonic() - table_started, 3)
        except MySQLError as exc:
            raise SchemagateError(f"Seeding {database!r} failed on table {name}: {error_text(exc)}") from None
        finally:
            cur.execute("SET SESSION foreign_key_checks = 1, unique_checks = 1")
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

    def next_salt(self) -> int:
        self.salt += 1
        return self.salt

    def pick_parent(self, fk: ForeignKey, tenant_expr: Optional[str]) -> None:
        """Join a numbered copy of the parent's keys and take the FK columns from it."""
        index = len(self.temporary)
        pick = f"sg_pick_{index}"
        parent = fk.references
        ref_cols = ", ".join(quote_identifier(c) for c in fk.ref_columns)
        partition = tenant_expr is not None and self._parent_has_tenant(parent)
        self.temporary.append(pick)
        if partition:
            tenant = quote_identifier(self.tenant_column)
            self.cur.execute(
                f"CREATE TEMPORARY TABLE {pick} (PRIMARY KEY (tenant, rn)) ENGINE=MEMORY AS SELECT {tenant} AS tenant, "
                f"ROW_NUMBER() OVER (PARTITION BY {tenant} ORDER BY {ref_cols}) AS rn, {ref_cols} "
                f"FROM {quote_identifier(parent)}"
            )
            counts = f"sg_count_{index}"
            self.temporary.append(counts)
            self.cur.execute(
                f"CREATE TEMPORARY TABLE {counts} (PRIMARY KEY (tenant)) ENGINE=MEMORY AS SELECT tenant, COUNT(*) AS cnt FROM {pick} GROUP BY tenant"
            )
            self.joins.append(f"JOIN {counts} ON {counts}.tenant = {tenant_expr}")
            self.joins.append(
                f"JOIN {pick} ON {pick}.tenant = {tenant_expr} AND {pick}.rn = 1 + {self._hash()} % {counts}.cnt"
            )
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
        nullable = all(self.columns[c].nullable for c in fk.columns)
        for column, ref in zip(fk.columns, fk.ref_columns):
            value = f"{pick}.{quote_identifier(ref)}"
            # Optional references are sometimes absent, as in real data.
            self.values[column] = f"IF({self._hash()} % 10 = 0, NULL, {value})" if nullable and column != self.tenant_column else value

    def _parent_has_tenant(self, parent: str) -> bool:
        if parent == self.name or parent not in self.tables:
            return False
        return self.tables[parent].column(self.tenant_column) is not None

    def _hash(self) -> str:
        return _hash(self.next_salt())

    def drop_temporary(self) -> None:
        for table in self.temporary:
            self.cur.execute(f"DROP TEMPORARY TABLE IF EXISTS {table}")


def _fill(cur: Any, tables: Mapping[str, Table], name: str, count: int, tenant_column: str) -> int:
    builder = _InsertBuilder(cur, tables, name, tenant_column)
    table = tables[name]
    try:
        fks = [fk for fk in table.foreign_keys if fk.references != name]
        tenant_fk = next((fk for fk in fks if fk.columns == (tenant_column,)), None)
        tenant_expr = None
        if tenant_fk is not None:
            builder.pick_parent(tenant_fk, None)
            tenant_expr = builder.values[tenant_column]
        for fk in fks:
            if fk is not tenant_fk:
                builder.pick_parent(fk, tenant_expr)
        for fk in table.foreign_keys:
            if fk.references == name:  # self-references are linked after the insert
                builder.values.update({column: "NULL" for column in fk.columns})
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
        sql = (
            f"INSERT INTO {quote_identifier(name)} ({', '.join(insert_columns)}) "
            f"SELECT STRAIGHT_JOIN {', '.join(select_values)} FROM {numbers_source(count)} {' '.join(builder.joins)}"
        )
        cur.execute(sql)
        inserted = cur.rowcount
        _link_self_references(cur, table, name)
        return inserted
    finally:
        builder.drop_temporary()


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


def _value(column: Column, table: Table, builder: _InsertBuilder, unique: bool) -> str:
    name, kind = column.name, column.type
    salt = builder.next_salt()
    hashed = _hash(salt)
    siblings = set(table.column_names)
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
    """Point one row in ten (row 2 even in tiny data) at the row before it, for self-referencing FKs."""
    for fk in table.foreign_keys:
        if fk.references != name or len(fk.columns) != 1:
            continue
        column, ref = quote_identifier(fk.columns[0]), quote_identifier(fk.ref_columns[0])
        quoted = quote_identifier(name)
        cur.execute(
            f"UPDATE {quoted} child JOIN {quoted} parent ON parent.{ref} = child.{ref} - 1 "
            f"SET child.{column} = parent.{ref} WHERE child.{ref} % 10 = 2"
        )
