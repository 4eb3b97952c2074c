"""Production's tables as the lint and the probes need them, and how each pending statement changes them.

Production's catalog (information_schema TABLES, COLUMNS, STATISTICS and the
foreign keys) is read once, read-only. Walking the pending migrations statement
by statement then advances a model of the schema, so every rule sees the table
as it is when its statement runs: a column added by migration 1 and made NOT
NULL by migration 2 is new, not production's; a renamed table keeps its rows.
Each table and column remembers its name on production, because the data probes
read production's rows.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

from ..core.annotations import Annotation, attach, find_annotations, read_file_text, statement_span
from ..core.connection import quote_identifier
from ..core.dialect import ServerInfo
from ..core.sql_parse import (
    ADD_COLUMN, ADD_FOREIGN_KEY, ADD_INDEX, ALTER_COLUMN_DEFAULT, ALTER_TABLE, CHANGE_COLUMN, CONVERT_CHARSET,
    CREATE_INDEX, CREATE_TABLE, DROP_COLUMN, DROP_FOREIGN_KEY, DROP_INDEX, DROP_INDEX_STATEMENT, DROP_PRIMARY_KEY,
    DROP_TABLE, MODIFY_COLUMN, RENAME_COLUMN, RENAME_INDEX, RENAME_TABLE, RENAME_TABLES, TABLE_OPTIONS, ColumnDef,
    ColumnType, ForeignKeyDef, IndexColumn, IndexDef, ParsedStatement, TableName, parse_column_type, parse_statement,
)
from ..core.sql_script import Statement


@dataclass
class ColumnState:
    name: str
    type: ColumnType
    nullable: bool
    default: Optional[str]  # the DEFAULT expression; None: no default (or DEFAULT NULL)
    generated: bool = False
    auto_increment: bool = False
    production_name: Optional[str] = None  # its name on production; None for a column this deploy adds

    @property
    def charset(self) -> Optional[str]:
        return self.type.charset


@dataclass
class TableState:
    name: str
    columns: Dict[str, ColumnState] = field(default_factory=dict)  # lower-case name -> column, in order
    indexes: Dict[str, IndexDef] = field(default_factory=dict)  # lower-case name -> index
    foreign_keys: Dict[str, ForeignKeyDef] = field(default_factory=dict)
    charset: str = ""  # the table's default character set
    rows: int = 0  # production's estimate (information_schema.TABLES.TABLE_ROWS)
    has_rows: bool = False  # production has at least one row (asked, not estimated)
    data_bytes: int = 0
    index_bytes: int = 0
    row_format: str = ""
    row_versions: int = 0  # MySQL 8.0.29+: instant ADD/DROP COLUMNs the table has used (INNODB_TABLES)
    production_name: Optional[str] = None  # None for a table this deploy creates

    @property
    def preexisting(self) -> bool:
        return self.production_name is not None

    def column(self, name: Optional[str]) -> Optional[ColumnState]:
        return self.columns.get((name or "").lower())

    @property
    def primary_key(self) -> List[str]:
        primary = self.indexes.get("primary")
        return primary.column_names if primary else []

    def index_leading(self, columns: Sequence[str]) -> Optional[str]:
        """An index whose leading columns are ``columns`` (any order), for index-assisted probes."""
        wanted = {c.lower() for c in columns}
        for name, index in self.indexes.items():
            leading = [c.lower() for c in index.column_names[:len(wanted)]]
            if len(leading) == len(wanted) and set(leading) == wanted and not any(c.length for c in index.columns[:len(wanted)]):
                return index.name or name
        return None

    def as_facts(self) -> Dict[str, Any]:
        """What the DDL probe needs of production's table (JSON-safe)."""
        return {"rows": self.rows, "has_rows": self.has_rows, "data_bytes": self.data_bytes,
                "index_bytes": self.index_bytes, "row_format": self.row_format, "row_versions": self.row_versions}


Catalog = Dict[str, TableState]


# ------------------------------------------------------------------ reading
def read_catalog(conn: Any, database: str, server: ServerInfo, exclude: Iterable[str] = ()) -> Catalog:
    """Production's base tables, read-only: sizes, columns, indexes and foreign keys."""
    excluded = {e.lower() for e in exclude}
    catalog: Catalog = {}
    with conn.cursor() as cur:
        if server.fresh_table_statistics:
            cur.execute(server.fresh_table_statistics)
        cur.execute(
            "SELECT t.TABLE_NAME, COALESCE(t.TABLE_ROWS, 0), COALESCE(t.DATA_LENGTH, 0), COALESCE(t.INDEX_LENGTH, 0), "
            "COALESCE(t.ROW_FORMAT, ''), COALESCE(c.CHARACTER_SET_NAME, '') FROM information_schema.TABLES t "
            "LEFT JOIN information_schema.COLLATIONS c ON c.COLLATION_NAME = t.TABLE_COLLATION "
            "WHERE t.TABLE_SCHEMA = %s AND t.TABLE_TYPE = 'BASE TABLE'",
            (database,),
        )
        for name, rows, data, index, row_format, charset in cur.fetchall():
            if name.lower() in excluded:
                continue
            catalog[name.lower()] = TableState(name, charset=str(charset).lower(), rows=int(rows), has_rows=int(rows) > 0,
                                               data_bytes=int(data), index_bytes=int(index), row_format=str(row_format).upper(),
                                               production_name=name)
        cur.execute(
            "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, CHARACTER_SET_NAME, "
            "COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME, ORDINAL_POSITION",
            (database,),
        )
        for table, column, column_type, nullable, default, extra, charset, collation in cur.fetchall():
            state = catalog.get(table.lower())
            if state is None:
                continue
            parsed = parse_column_type(str(column_type))
            parsed.charset = str(charset).lower() if charset else None
            parsed.collation = str(collation).lower() if collation else None
            extra_text = str(extra or "").lower()
            state.columns[column.lower()] = ColumnState(
                column, parsed, nullable == "YES", _catalog_default(default, nullable == "YES"),
                generated=any(word in extra_text for word in ("virtual", "stored", "persistent")),
                auto_increment="auto_increment" in extra_text, production_name=column,
            )
        cur.execute(
            "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, INDEX_TYPE FROM information_schema.STATISTICS "
            "WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
            (database,),
        )
        for table, index, non_unique, column, sub_part, index_type in cur.fetchall():
            state = catalog.get(table.lower())
            if state is None:
                continue
            kind = "primary" if index == "PRIMARY" else "fulltext" if index_type == "FULLTEXT" else "spatial" \
                if index_type == "SPATIAL" else "index" if int(non_unique) else "unique"
            entry = state.indexes.setdefault(index.lower(), IndexDef(kind, index, []))
            entry.columns.append(IndexColumn(column or "", int(sub_part) if sub_part else None))
        cur.execute(
            "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, "
            "k.REFERENCED_COLUMN_NAME, r.DELETE_RULE, r.UPDATE_RULE FROM information_schema.KEY_COLUMN_USAGE k "
            "JOIN information_schema.REFERENTIAL_CONSTRAINTS r ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA "
            "AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME "
            "WHERE k.TABLE_SCHEMA = %s AND k.REFERENCED_TABLE_NAME IS NOT NULL ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, "
            "k.ORDINAL_POSITION",
            (database,),
        )
        for table, name, column, ref_schema, ref_table, ref_column, on_delete, on_update in cur.fetchall():
            state = catalog.get(table.lower())
            if state is None:
                continue
            schema = None if ref_schema == database else ref_schema
            fk = state.foreign_keys.setdefault(name.lower(), ForeignKeyDef(name, [], TableName(ref_table, schema), [],
                                                                           on_delete, on_update))
            fk.columns.append(column)
            fk.ref_columns.append(ref_column)
    return catalog


def _catalog_default(default: Optional[str], nullable: bool) -> Optional[str]:
    if default is None or (nullable and default == "NULL"):
        return None
    return str(default)


def confirm_rows(conn: Any, database: str, catalog: Catalog, tables: Iterable[str]) -> None:
    """Ask production whether ``tables`` have rows (the estimate says 0 for a small, freshly filled table)."""
    with conn.cursor() as cur:
        for key in {t.lower() for t in tables}:
            state = catalog.get(key)
            if state is None or state.production_name is None or state.rows > 0:
                continue
            cur.execute(f"SELECT 1 FROM {quote_identifier(database)}.{quote_identifier(state.production_name)} LIMIT 1")
            state.has_rows = cur.fetchone() is not None
            state.rows = max(state.rows, 1 if state.has_rows else 0)


# ----------------------------------------------------------------- the walk
@dataclass
class Step:
    """One pending statement, parsed, with the tables it touches as they are just before it runs."""

    migration: Any  # migrate.migration_files.Migration
    index: int  # 0-based position in the migration's up statements
    statement: Statement
    parsed: ParsedStatement
    before: Dict[str, TableState]  # lower-case name -> copy of the table before the statement
    annotations: List[Annotation]
    later: List[ParsedStatement]  # the rest of this migration's statements (a dropped FK re-added later)

    @property
    def path(self) -> str:
        return str(self.migration.up_path)

    def line_of(self, offset: int) -> int:
        return self.statement.line + self.statement.sql.count("\n", 0, max(0, offset))

    def table_before(self, name: Optional[str]) -> Optional[TableState]:
        return self.before.get((name or "").lower())


@dataclass
class Walk:
    steps: List[Step]
    loose_annotations: List[Tuple[Any, Annotation]]  # (migration, annotation) that belong to no statement
    final: Catalog


def walk(migrations: Sequence[Any], catalog: Catalog) -> Walk:
    """Every up statement of ``migrations`` in order, advancing a copy of ``catalog``."""
    model: Catalog = copy.deepcopy(catalog)
    steps: List[Step] = []
    loose: List[Tuple[Any, Annotation]] = []
    for migration in migrations:
        statements = list(migration.up)
        attached, unowned = attach(find_annotations(read_file_text(migration.up_path)), statements)
        # One-file formats (goose, dbmate): what follows the last up statement is the down section's.
        one_file = getattr(migration, "down_path", None) == migration.up_path
        last_up = max((statement_span(s)[1] for s in statements), default=0)
        loose.extend((migration, a) for a in unowned if not (one_file and a.line > last_up))
        parsed_all = [parse_statement(s.sql) for s in statements]
        for index, (statement, parsed) in enumerate(zip(statements, parsed_all)):
            touched = _touched(parsed)
            before = {name: copy.deepcopy(model[name]) for name in touched if name in model}
            steps.append(Step(migration, index, statement, parsed, before, attached.get(index, []), parsed_all[index + 1:]))
            apply(model, parsed)
    return Walk(steps, loose, model)


def _touched(parsed: ParsedStatement) -> List[str]:
    names = [t.name.lower() for t in ([parsed.table] if parsed.table else []) + parsed.tables]
    names += [old.name.lower() for old, _new in parsed.renames]
    names += [fk.ref_table.name.lower() for fk in parsed.foreign_keys]
    names += [s.foreign_key.ref_table.name.lower() for s in parsed.specs if s.foreign_key is not None]
    if parsed.is_dml:  # the tables a data migration reads
        tokens = parsed.tokens
        names += [tokens[i + 1].identifier.lower() for i, t in enumerate(tokens[:-1]) if t.is_word("FROM", "JOIN")]
    return names


def apply(model: Catalog, parsed: ParsedStatement) -> None:
    """Advance the model by one statement (what the parser did not understand changes nothing)."""
    kind = parsed.kind
    if kind == CREATE_TABLE and parsed.table is not None:
        key = parsed.table.name.lower()
        if parsed.if_exists and key in model:
            return
        if parsed.like is not None and parsed.like.name.lower() in model:
            source = copy.deepcopy(model[parsed.like.name.lower()])
            model[key] = TableState(parsed.table.name, source.columns, source.indexes, {}, source.charset)
            for column in model[key].columns.values():
                column.production_name = None
            return
        table = TableState(parsed.table.name, charset=_table_charset(parsed))
        for column in parsed.columns:
            table.columns[column.name.lower()] = new_column_state(column, table.charset)
        for index in parsed.indexes:
            table.indexes[(index.name or _index_name(table, index)).lower()] = index
        for fk in parsed.foreign_keys:
            table.foreign_keys[(fk.name or f"{table.name}_ibfk_{len(table.foreign_keys) + 1}").lower()] = fk
        model[key] = table
    elif kind == DROP_TABLE:
        for name in parsed.tables:
            model.pop(name.name.lower(), None)
    elif kind == RENAME_TABLES:
        for old, new in parsed.renames:
            state = model.pop(old.name.lower(), None)
            if state is not None:
                state.name = new.name
                model[new.name.lower()] = state
    elif kind in (ALTER_TABLE, CREATE_INDEX, DROP_INDEX_STATEMENT) and parsed.table is not None:
        table = model.get(parsed.table.name.lower())
        if table is None:
            return
        for spec in parsed.specs:
            _apply_spec(model, table, spec)


def _apply_spec(model: Catalog, table: TableState, spec: Any) -> None:
    action = spec.action
    if action == ADD_COLUMN and spec.column is not None:
        for column in [spec.column] + list(spec.extra_columns):
            if not (spec.if_exists and table.column(column.name)):
                table.columns[column.name.lower()] = new_column_state(column, table.charset)
                if column.primary_key:
                    table.indexes["primary"] = IndexDef("primary", "PRIMARY", [IndexColumn(column.name)])
    elif action in (CHANGE_COLUMN, MODIFY_COLUMN) and spec.column is not None:
        old = table.columns.pop((spec.old_name or "").lower(), None)
        new = new_column_state(spec.column, table.charset)
        new.production_name = old.production_name if old else None
        table.columns[new.name.lower()] = new
        if old is not None and old.name.lower() != new.name.lower():
            _rename_in_indexes(table, old.name, new.name)
    elif action == RENAME_COLUMN:
        old = table.columns.pop((spec.old_name or "").lower(), None)
        if old is not None:
            old.name = spec.new_name or old.name
            table.columns[old.name.lower()] = old
            _rename_in_indexes(table, spec.old_name or "", old.name)
    elif action == DROP_COLUMN:
        table.columns.pop((spec.old_name or "").lower(), None)
    elif action == ALTER_COLUMN_DEFAULT:
        column = table.column(spec.old_name)
        if column is not None and "default" in spec.options:
            column.default = spec.options["default"] or None
    elif action == ADD_INDEX and spec.index is not None:
        index = spec.index
        table.indexes[("primary" if index.kind == "primary" else index.name or _index_name(table, index)).lower()] = index
        if index.kind == "primary":
            for name in index.column_names:
                column = table.column(name)
                if column is not None:
                    column.nullable = False
    elif action == DROP_INDEX:
        table.indexes.pop((spec.old_name or "").lower(), None)
    elif action == DROP_PRIMARY_KEY:
        table.indexes.pop("primary", None)
    elif action == RENAME_INDEX:
        index = table.indexes.pop((spec.old_name or "").lower(), None)
        if index is not None:
            index.name = spec.new_name
            table.indexes[(spec.new_name or "").lower()] = index
    elif action == ADD_FOREIGN_KEY and spec.foreign_key is not None:
        fk = spec.foreign_key
        table.foreign_keys[(fk.name or f"{table.name}_ibfk_{len(table.foreign_keys) + 1}").lower()] = fk
    elif action == DROP_FOREIGN_KEY:
        table.foreign_keys.pop((spec.old_name or "").lower(), None)
    elif action == RENAME_TABLE and spec.new_table is not None:
        model.pop(table.name.lower(), None)
        table.name = spec.new_table.name
        model[table.name.lower()] = table
    elif action == CONVERT_CHARSET:
        charset = spec.options.get("charset") or table.charset
        table.charset = charset
        for column in table.columns.values():
            if column.type.charset:
                column.type.charset = charset
    elif action == TABLE_OPTIONS and "CHARSET" in spec.options:
        table.charset = spec.options["CHARSET"].lower()


def _rename_in_indexes(table: TableState, old: str, new: str) -> None:
    for index in table.indexes.values():
        for column in index.columns:
            if column.name.lower() == old.lower():
                column.name = new


def _index_name(table: TableState, index: IndexDef) -> str:
    base = index.column_names[0] if index.column_names else "index"
    name, n = base, 2
    while name.lower() in table.indexes:
        name, n = f"{base}_{n}", n + 1
    return name


def _table_charset(parsed: ParsedStatement) -> str:
    text = " ".join(parsed.sql.upper().split())
    for marker in ("CHARSET=", "CHARSET =", "CHARACTER SET=", "CHARACTER SET =", "CHARACTER SET "):
        position = text.rfind(marker)
        if position >= 0 and position > text.rfind(")"):
            return text[position + len(marker):].strip().split(" ")[0].lower()
    return ""


_STRING_TYPES = ("char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set", "json")


def new_column_state(column: ColumnDef, table_charset: str) -> ColumnState:
    """A column as the server will define it: an unstated charset is the table's, an unstated NULL is nullable."""
    column_type = copy.deepcopy(column.type)
    if column_type.name in _STRING_TYPES and not column_type.charset:
        column_type.charset = table_charset or None
    nullable = column.nullable if column.nullable is not None else not column.primary_key
    default = column.default
    if default is not None and default.upper() == "NULL":
        default = None
    return ColumnState(column.name, column_type, nullable, default, generated=column.generated is not None,
                       auto_increment=column.auto_increment)


def statements_of(migrations: Sequence[Any]) -> Iterator[Tuple[Any, Statement]]:
    for migration in migrations:
        for statement in migration.up:
            yield migration, statement


def altered_preexisting_tables(steps: Sequence[Step]) -> List[str]:
    """Production's names of the pre-existing tables the pending statements alter (ALTER/CREATE INDEX/DROP INDEX)."""
    names: List[str] = []
    for step in steps:
        if step.parsed.kind in (ALTER_TABLE, CREATE_INDEX, DROP_INDEX_STATEMENT) and step.parsed.table is not None:
            table = step.table_before(step.parsed.table.name)
            if table is not None and table.production_name and table.production_name not in names:
                names.append(table.production_name)
    return names


def facts_of(catalog: Mapping[str, TableState]) -> Dict[str, Dict[str, Any]]:
    return {t.production_name or t.name: t.as_facts() for t in catalog.values()}
