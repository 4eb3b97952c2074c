"""The typed schema model: tables, their columns, indexes, foreign keys and CHECK constraints, and a schema's views,
triggers and routines, as frozen dataclasses (as skeema's ``tengo.Table`` models a table).

``catalog.read_tables`` builds it from information_schema; ``from_dict`` builds it from the structure files
(``expectations/*.yaml``), from a backup manifest or from a module's input. ``to_dict`` gives back exactly that
shape, which is also what the schema fingerprint hashes: a key that carries nothing is left out (no default, no
extra, no comment, a BTREE index type, no CHECK constraints), so ``Table.from_dict(d).to_dict() == d`` for every
structure file, and a schema without comments keeps the fingerprint it had before comments were read.
Malformed input raises SchemagateError naming the key (``callback_requests.columns[2].nullable: ...``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Mapping, Optional, Sequence, Tuple

from .errors import SchemagateError

# The rules information_schema reports (MySQL says NO ACTION where MariaDB says RESTRICT; the catalog normalises).
FK_RULES = ("CASCADE", "SET NULL", "RESTRICT", "NO ACTION", "SET DEFAULT")
PRIMARY = "PRIMARY"


def describe_type(value: Any) -> str:
    """What YAML or JSON made of a value, for error messages: 'a mapping', 'a string', 'nothing'..."""
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


class _Fields:
    """The keys of one mapping of the dict form, read with their types checked; errors name ``where.key``."""

    def __init__(self, data: Any, where: str, required: Sequence[str], optional: Sequence[str] = ()) -> None:
        if not isinstance(data, dict):
            raise SchemagateError(f"{where}: must be a mapping, found {describe_type(data)}")
        allowed = tuple(required) + tuple(optional)
        for key in data:
            if key not in allowed:
                raise SchemagateError(f"{where}.{key}: unknown key; use one of {', '.join(allowed)}")
        for key in required:
            if key not in data:
                raise SchemagateError(f"{where}.{key}: missing; add it")
        self.data = data
        self.where = where

    def _bad(self, key: str, wanted: str, hint: str = "") -> SchemagateError:
        found = f"{self.where}.{key}: must be {wanted}, found {describe_type(self.data[key])}"
        return SchemagateError(f"{found}; {hint}" if hint else found)

    def string(self, key: str) -> str:
        """A non-empty string; '' when the key is absent."""
        if key not in self.data:
            return ""
        value = self.data[key]
        if not isinstance(value, str) or not value:
            raise self._bad(key, "a non-empty string", "quote it if YAML read it as another type")
        return value

    def optional_string(self, key: str) -> Optional[str]:
        """A string, or None when the key is absent or null."""
        value = self.data.get(key)
        if value is not None and not isinstance(value, str):
            raise self._bad(key, "a string", "quote it if YAML read it as another type")
        return value

    def boolean(self, key: str) -> bool:
        value = self.data[key]
        if not isinstance(value, bool):
            raise self._bad(key, "true or false")
        return value

    def names(self, key: str, parts: bool = False) -> Tuple[Any, ...]:
        """A non-empty list of names; with ``parts``, an index's key parts (null for an expression)."""
        value = self.data[key]
        if not isinstance(value, list) or not value:
            raise self._bad(key, "a non-empty list of names")
        for position, item in enumerate(value):
            if not (isinstance(item, str) and item) and not (parts and item is None):
                raise SchemagateError(f"{self.where}.{key}[{position}]: must be a name, found {describe_type(item)}")
        return tuple(value)

    def rule(self, key: str) -> str:
        value = self.string(key)
        if value not in FK_RULES:
            raise SchemagateError(f"{self.where}.{key}: {value!r} is not a foreign key rule; use one of {', '.join(FK_RULES)}")
        return value

    def items(self, key: str) -> Sequence[Any]:
        """A list (possibly empty) of mappings, each checked by its own from_dict."""
        if key not in self.data:
            return []
        value = self.data[key]
        if not isinstance(value, list):
            raise self._bad(key, "a list")
        return value


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # normalised: 'bigint unsigned', 'tinyint(1)', "enum('a','b')", 'json'
    nullable: bool
    default: Optional[str] = None  # None: no default (the implicit DEFAULT NULL of a nullable column included)
    extra: str = ""  # lower case: 'auto_increment', 'on update current_timestamp()', 'stored generated'
    comment: str = ""
    collation: str = ""  # only when it is not the table's collation

    @property
    def auto_increment(self) -> bool:
        return "auto_increment" in self.extra

    @property
    def generated(self) -> bool:
        return "generated" in self.extra

    def to_dict(self) -> Dict[str, Any]:
        data: Dict[str, Any] = {"name": self.name, "type": self.type, "nullable": self.nullable}
        if self.default is not None:
            data["default"] = self.default
        if self.extra:
            data["extra"] = self.extra
        if self.comment:
            data["comment"] = self.comment
        if self.collation:
            data["collation"] = self.collation
        return data

    @classmethod
    def from_dict(cls, data: Any, where: str = "column") -> "Column":
        fields = _Fields(data, where, ("name", "type", "nullable"), ("default", "extra", "comment", "collation"))
        return cls(
            name=fields.string("name"),
            type=fields.string("type"),
            nullable=fields.boolean("nullable"),
            default=fields.optional_string("default"),
            extra=fields.string("extra"),
            comment=fields.string("comment"),
            collation=fields.string("collation"),
        )


@dataclass(frozen=True)
class Index:
    name: str
    unique: bool
    columns: Tuple[Optional[str], ...]  # key parts: 'code', 'slug(20)' for a prefix, None for an expression (MySQL 8)
    type: str = ""  # FULLTEXT, SPATIAL, HASH; '' for BTREE

    @property
    def primary(self) -> bool:
        return self.name == PRIMARY

    @property
    def column_names(self) -> Tuple[str, ...]:
        """The key parts as column names: 'slug(20)' -> 'slug'; '' for an expression."""
        return tuple(_column_of(part) for part in self.columns)

    @property
    def whole_columns(self) -> bool:
        """Every key part is a whole column: no prefix length, no expression."""
        return all(part is not None and _column_of(part) == part for part in self.columns)

    def to_dict(self) -> Dict[str, Any]:
        data: Dict[str, Any] = {"name": self.name, "unique": self.unique, "columns": list(self.columns)}
        if self.type:
            data["type"] = self.type
        return data

    @classmethod
    def from_dict(cls, data: Any, where: str = "index") -> "Index":
        fields = _Fields(data, where, ("name", "unique", "columns"), ("type",))
        return cls(name=fields.string("name"), unique=fields.boolean("unique"), columns=fields.names("columns", parts=True), type=fields.string("type"))


def _column_of(part: Optional[str]) -> str:
    if part is None:
        return ""
    if part.endswith(")") and "(" in part:
        name, opening, length = part[:-1].rpartition("(")
        if name and opening and length.isdigit():
            return name
    return part


@dataclass(frozen=True)
class ForeignKey:
    name: str
    columns: Tuple[str, ...]
    references: str  # the parent table (same database)
    ref_columns: Tuple[str, ...]
    on_delete: str
    on_update: str

    def to_dict(self) -> Dict[str, Any]:
        return {
            "name": self.name,
            "columns": list(self.columns),
            "references": self.references,
            "ref_columns": list(self.ref_columns),
            "on_delete": self.on_delete,
            "on_update": self.on_update,
        }

    @classmethod
    def from_dict(cls, data: Any, where: str = "foreign key") -> "ForeignKey":
        fields = _Fields(data, where, ("name", "columns", "references", "ref_columns", "on_delete", "on_update"))
        key = cls(
            name=fields.string("name"),
            columns=fields.names("columns"),
            references=fields.string("references"),
            ref_columns=fields.names("ref_columns"),
            on_delete=fields.rule("on_delete"),
            on_update=fields.rule("on_update"),
        )
        if len(key.columns) != len(key.ref_columns):
            raise SchemagateError(f"{where}: {len(key.columns)} columns reference {len(key.ref_columns)} ref_columns; list as many of each")
        return key


@dataclass(frozen=True)
class CheckConstraint:
    name: str
    clause: str  # white space collapsed

    def to_dict(self) -> Dict[str, Any]:
        return {"name": self.name, "clause": self.clause}

    @classmethod
    def from_dict(cls, data: Any, where: str = "check") -> "CheckConstraint":
        fields = _Fields(data, where, ("name", "clause"))
        return cls(name=fields.string("name"), clause=fields.string("clause"))


@dataclass(frozen=True)
class Table:
    name: str
    engine: Optional[str]
    collation: Optional[str]
    columns: Tuple[Column, ...] = ()  # in ordinal order
    indexes: Tuple[Index, ...] = ()  # by name, case-insensitively
    foreign_keys: Tuple[ForeignKey, ...] = ()  # by name, case-insensitively
    checks: Tuple[CheckConstraint, ...] = ()  # CHECK constraints other than MariaDB's json_valid() of JSON columns
    comment: str = ""

    def column(self, name: str) -> Optional[Column]:
        return next((column for column in self.columns if column.name == name), None)

    def index(self, name: str) -> Optional[Index]:
        return next((index for index in self.indexes if index.name == name), None)

    @property
    def column_names(self) -> Tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def primary_key(self) -> Optional[Index]:
        return self.index(PRIMARY)

    @property
    def unique_indexes(self) -> Tuple[Index, ...]:
        return tuple(index for index in self.indexes if index.unique)

    def row_identity(self) -> Tuple[str, ...]:
        """Columns that identify one row: the primary key, else the first unique key of whole NOT NULL columns
        (the key InnoDB clusters the table by); () when there is none."""
        nullable = {column.name for column in self.columns if column.nullable}
        unique = {index.name: index for index in self.unique_indexes}
        candidates = [unique[PRIMARY]] if PRIMARY in unique else []
        candidates += [unique[name] for name in sorted(unique) if name != PRIMARY]
        for index in candidates:
            if index.whole_columns and not set(index.column_names) & nullable:
                return index.column_names
        return ()

    def to_dict(self) -> Dict[str, Any]:
        """The table as the structure files write it (its name is the key it is written under)."""
        data: Dict[str, Any] = {"engine": self.engine, "collation": self.collation}
        if self.comment:
            data["comment"] = self.comment
        data["columns"] = [column.to_dict() for column in self.columns]
        data["indexes"] = [index.to_dict() for index in self.indexes]
        data["foreign_keys"] = [key.to_dict() for key in self.foreign_keys]
        if self.checks:
            data["checks"] = [check.to_dict() for check in self.checks]
        return data

    @classmethod
    def from_dict(cls, data: Any, name: str = "", where: str = "") -> "Table":
        where = where or name or "table"
        fields = _Fields(data, where, ("engine", "collation", "columns", "indexes", "foreign_keys"), ("comment", "checks"))
        table = cls(
            name=name,
            engine=fields.optional_string("engine"),
            collation=fields.optional_string("collation"),
            columns=tuple(Column.from_dict(item, f"{where}.columns[{n}]") for n, item in enumerate(fields.items("columns"))),
            indexes=tuple(Index.from_dict(item, f"{where}.indexes[{n}]") for n, item in enumerate(fields.items("indexes"))),
            foreign_keys=tuple(ForeignKey.from_dict(item, f"{where}.foreign_keys[{n}]") for n, item in enumerate(fields.items("foreign_keys"))),
            checks=tuple(CheckConstraint.from_dict(item, f"{where}.checks[{n}]") for n, item in enumerate(fields.items("checks"))),
            comment=fields.string("comment"),
        )
        for kind, items in (("columns", table.columns), ("indexes", table.indexes), ("foreign_keys", table.foreign_keys), ("checks", table.checks)):
            _refuse_duplicates(f"{where}.{kind}", [item.name for item in items])
        return table


def _refuse_duplicates(where: str, names: Iterable[str]) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise SchemagateError(f"{where}: {name} is listed twice; remove one")
        seen.add(name)


Tables = Dict[str, Table]


def tables_from_dict(data: Any, source: str = "", under: str = "") -> Tables:
    """Tables by name from their dict form; errors start with ``source`` (a file, an option) and the key path."""
    prefix = f"{source}: " if source else ""
    if not isinstance(data, dict):
        where = f"{prefix}{under.rstrip('.')}: " if under else prefix
        raise SchemagateError(f"{where}must map table names to their structure, found {describe_type(data)}")
    tables: Tables = {}
    for name, spec in data.items():
        if not isinstance(name, str) or not name:
            raise SchemagateError(f"{prefix}{under}{name!r}: a table name must be a string; quote it")
        tables[name] = Table.from_dict(spec, name=name, where=f"{prefix}{under}{name}")
    return tables


def tables_to_dict(tables: Mapping[str, Table]) -> Dict[str, Dict[str, Any]]:
    return {name: table.to_dict() for name, table in tables.items()}


@dataclass(frozen=True)
class Schema:
    """A database's application schema: its base tables, and its views, triggers and routines with their bodies."""

    tables: Tables = field(default_factory=dict)
    views: Dict[str, str] = field(default_factory=dict)  # name -> definition, white space collapsed
    triggers: Dict[str, str] = field(default_factory=dict)  # name -> '<timing> <event> ON <table>: <body>'
    routines: Dict[str, str] = field(default_factory=dict)  # '<procedure|function> <name>' -> body
    events: Dict[str, str] = field(default_factory=dict)  # name -> '<schedule>: <body>' (not whether it is enabled)

    OBJECT_KINDS = ("views", "triggers", "routines", "events")

    def objects(self, kind: str) -> Dict[str, str]:
        """The views, triggers, routines or events (``kind`` is one of OBJECT_KINDS)."""
        return {"views": self.views, "triggers": self.triggers, "routines": self.routines, "events": self.events}[kind]

    def to_dict(self) -> Dict[str, Any]:
        data = {"tables": tables_to_dict(self.tables), "views": dict(self.views), "triggers": dict(self.triggers), "routines": dict(self.routines)}
        if self.events:  # left out when there are none, so a schema without events keeps its fingerprint
            data["events"] = dict(self.events)
        return data

    @classmethod
    def from_dict(cls, data: Any, source: str = "") -> "Schema":
        where = source or "schema"
        fields = _Fields(data, where, ("tables",), cls.OBJECT_KINDS)
        bodies = {}
        for kind in cls.OBJECT_KINDS:
            objects = fields.data.get(kind, {})
            if not isinstance(objects, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in objects.items()):
                raise SchemagateError(f"{where}.{kind}: must map names to their definitions (strings)")
            bodies[kind] = dict(objects)
        return cls(tables=tables_from_dict(fields.data["tables"], source, under="tables."), **bodies)
