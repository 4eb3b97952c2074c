"""Understand migration statements well enough to lint them and to run them online.

Not a full MySQL grammar: a tokenizer that honours quotes, backticks, comments
and executable comments (``/*! ... */``, ``/*M!100300 ... */``), and a parser for
the statements migrations are made of: CREATE/ALTER/DROP/RENAME/TRUNCATE TABLE,
CREATE/DROP INDEX and the DML of data migrations. ALTER TABLE is split into its
specifications (ADD/CHANGE/MODIFY/RENAME COLUMN, DROP ..., indexes, keys,
checks, table options, ALGORITHM/LOCK, partitioning), each with its column
definition parsed (type, ENUM values, NULL, DEFAULT, charset).

What is not understood is said, never guessed: a statement or a specification
the parser does not know comes back with ``understood`` False and a note.
Token offsets point into the statement's text, so the ALGORITHM/LOCK clause of
an ALTER can be appended at the right place (``with_algorithm``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

# ----------------------------------------------------------------- tokenizer
WORD, NAME, STRING, NUMBER, OP, VAR = "word", "name", "string", "number", "op", "var"

_WORD = re.compile(r"[\w$]+", re.UNICODE)
_NUMBER = re.compile(r"0x[0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?")
_VARIABLE = re.compile(r"@@?(?:[\w$.]+|`[^`]*`|'[^']*')")
_OPERATORS = ("<=>", "->>", "<=", ">=", "<>", "!=", ":=", "||", "&&", "->", "<<", ">>")


@dataclass(frozen=True)
class Token:
    kind: str
    text: str  # as written
    value: str  # words upper-cased; names and strings unquoted
    start: int  # offsets into the statement text
    end: int

    def is_word(self, *words: str) -> bool:
        return self.kind == WORD and self.value in words

    @property
    def identifier(self) -> str:
        """The token read as an identifier (a bare word keeps its case)."""
        return self.value if self.kind == NAME else self.text


class SqlSyntaxError(ValueError):
    """The text cannot be tokenized (an unterminated quote or comment)."""


def tokenize(sql: str) -> List[Token]:
    tokens: List[Token] = []
    i, n = 0, len(sql)
    executable_depth = 0  # inside /*! ... */: its content is code, its closing */ is skipped
    while i < n:
        ch = sql[i]
        if ch.isspace():
            i += 1
        elif executable_depth and sql.startswith("*/", i):
            executable_depth -= 1
            i += 2
        elif sql.startswith("/*!", i) or sql.startswith("/*M!", i):
            i += 4 if sql[i + 2] == "M" else 3
            while i < n and sql[i].isdigit():
                i += 1  # the version the comment is guarded by
            executable_depth += 1
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            if end == -1:
                raise SqlSyntaxError("unterminated /* comment")
            i = end + 2
        elif ch == "#" or (sql.startswith("--", i) and (i + 2 >= n or sql[i + 2] in " \t\r\n")):
            end = sql.find("\n", i)
            i = n if end == -1 else end
        elif ch in "'\"`":
            j = i + 1
            parts: List[str] = []
            while True:
                if j >= n:
                    raise SqlSyntaxError(f"unterminated {ch} quote")
                c = sql[j]
                if c == "\\" and ch != "`" and j + 1 < n:
                    parts.append(_unescape(sql[j + 1]))
                    j += 2
                    continue
                if c == ch:
                    if j + 1 < n and sql[j + 1] == ch:
                        parts.append(ch)
                        j += 2
                        continue
                    break
                parts.append(c)
                j += 1
            tokens.append(Token(NAME if ch == "`" else STRING, sql[i:j + 1], "".join(parts), i, j + 1))
            i = j + 1
        elif ch == "@":
            match = _VARIABLE.match(sql, i)
            end = match.end() if match else i + 1
            tokens.append(Token(VAR, sql[i:end], sql[i:end], i, end))
            i = end
        else:
            number = _NUMBER.match(sql, i) if (ch.isdigit() or ch == ".") else None
            word = _WORD.match(sql, i)
            if number and (not word or number.end() >= word.end()):
                tokens.append(Token(NUMBER, number.group(0), number.group(0), i, number.end()))
                i = number.end()
            elif word:
                text = word.group(0)
                tokens.append(Token(WORD, text, text.upper(), i, word.end()))
                i = word.end()
            else:
                op = next((o for o in _OPERATORS if sql.startswith(o, i)), ch)
                tokens.append(Token(OP, op, op, i, i + len(op)))
                i += len(op)
    return tokens


def _unescape(ch: str) -> str:
    return {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "b": "\b", "Z": "\x1a"}.get(ch, ch)


# ------------------------------------------------------------------- shapes
@dataclass(frozen=True)
class TableName:
    name: str
    schema: Optional[str] = None

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name


@dataclass
class ColumnType:
    """A column's type as declared: ``varchar(50)``, ``int unsigned``, ``enum('a','b')``."""

    name: str  # lower case: varchar, int, enum, decimal, datetime, json ...
    args: Tuple[str, ...] = ()  # lengths/precision as written, or the ENUM/SET values
    unsigned: bool = False
    charset: Optional[str] = None
    collation: Optional[str] = None

    def render(self) -> str:
        if self.name in ("enum", "set"):
            inner = ",".join("'" + v.replace("'", "''") + "'" for v in self.args)
            text = f"{self.name}({inner})"
        else:
            text = self.name + (f"({','.join(self.args)})" if self.args else "")
        return text + (" unsigned" if self.unsigned else "")


@dataclass
class ColumnDef:
    name: str
    type: ColumnType
    nullable: Optional[bool] = None  # None: not said (nullable, unless the column is in the primary key)
    default: Optional[str] = None  # the DEFAULT expression as written; None: no DEFAULT clause
    auto_increment: bool = False
    generated: Optional[str] = None  # "virtual" or "stored" for a generated column
    primary_key: bool = False
    unique: bool = False
    check: Optional[str] = None  # an inline CHECK (expression)
    position: Optional[str] = None  # "FIRST" or "AFTER <column>"
    text: str = ""

    @property
    def has_default(self) -> bool:
        return self.default is not None


@dataclass
class IndexColumn:
    name: str  # "" for a functional key part
    length: Optional[int] = None  # a prefix length: name(10)
    expression: str = ""


@dataclass
class IndexDef:
    kind: str  # "primary", "unique", "index", "fulltext", "spatial"
    name: Optional[str]
    columns: List[IndexColumn]

    @property
    def column_names(self) -> List[str]:
        return [c.name for c in self.columns if c.name]


@dataclass
class ForeignKeyDef:
    name: Optional[str]
    columns: List[str]
    ref_table: TableName
    ref_columns: List[str]
    on_delete: str = "RESTRICT"
    on_update: str = "RESTRICT"


@dataclass
class CheckDef:
    name: Optional[str]
    expression: str  # as written, without the parentheses


# ALTER TABLE specification actions
ADD_COLUMN, CHANGE_COLUMN, MODIFY_COLUMN, RENAME_COLUMN, DROP_COLUMN = (
    "add_column", "change_column", "modify_column", "rename_column", "drop_column")
ALTER_COLUMN_DEFAULT = "alter_column_default"
ADD_INDEX, DROP_INDEX, RENAME_INDEX, DROP_PRIMARY_KEY, ALTER_INDEX = (
    "add_index", "drop_index", "rename_index", "drop_primary_key", "alter_index")
ADD_FOREIGN_KEY, DROP_FOREIGN_KEY, ADD_CHECK, DROP_CONSTRAINT = (
    "add_foreign_key", "drop_foreign_key", "add_check", "drop_constraint")
RENAME_TABLE, CONVERT_CHARSET, TABLE_OPTIONS, ALGORITHM, LOCK, FORCE = (
    "rename_table", "convert_charset", "table_options", "algorithm", "lock", "force")
PARTITIONING, PARTITION_MANAGEMENT, ORDER_BY, KEYS_TOGGLE, TABLESPACE, UNKNOWN = (
    "partitioning", "partition_management", "order_by", "keys_toggle", "tablespace", "unknown")


@dataclass
class AlterSpec:
    action: str
    text: str  # the specification as written
    start: int = 0
    end: int = 0
    column: Optional[ColumnDef] = None  # ADD/CHANGE/MODIFY COLUMN
    old_name: Optional[str] = None  # CHANGE/RENAME COLUMN, RENAME INDEX, DROP ... name
    new_name: Optional[str] = None
    index: Optional[IndexDef] = None
    foreign_key: Optional[ForeignKeyDef] = None
    check: Optional[CheckDef] = None
    new_table: Optional[TableName] = None
    if_exists: bool = False  # IF EXISTS / IF NOT EXISTS
    options: Dict[str, str] = field(default_factory=dict)  # table options, ALGORITHM/LOCK value, charset
    extra_columns: List[ColumnDef] = field(default_factory=list)  # ADD COLUMN (a INT, b INT): the columns after the first
    note: str = ""  # why it is UNKNOWN

    @property
    def understood(self) -> bool:
        return self.action != UNKNOWN


# statement kinds
CREATE_TABLE, ALTER_TABLE, DROP_TABLE, RENAME_TABLES, TRUNCATE = (
    "create_table", "alter_table", "drop_table", "rename_tables", "truncate")
CREATE_INDEX, DROP_INDEX_STATEMENT = "create_index", "drop_index"
INSERT, UPDATE, DELETE, REPLACE = "insert", "update", "delete", "replace"
OTHER_DDL, SESSION, QUERY, NOT_UNDERSTOOD = "other_ddl", "session", "query", "not_understood"


@dataclass
class ParsedStatement:
    kind: str
    sql: str
    tokens: List[Token] = field(default_factory=list)
    table: Optional[TableName] = None  # the table the statement changes
    specs: List[AlterSpec] = field(default_factory=list)  # ALTER TABLE (and CREATE/DROP INDEX as one spec)
    columns: List[ColumnDef] = field(default_factory=list)  # CREATE TABLE
    indexes: List[IndexDef] = field(default_factory=list)
    foreign_keys: List[ForeignKeyDef] = field(default_factory=list)
    checks: List[CheckDef] = field(default_factory=list)
    tables: List[TableName] = field(default_factory=list)  # DROP TABLE
    renames: List[Tuple[TableName, TableName]] = field(default_factory=list)  # RENAME TABLE
    like: Optional[TableName] = None  # CREATE TABLE ... LIKE
    as_select: bool = False  # CREATE TABLE ... SELECT / INSERT ... SELECT
    if_exists: bool = False  # IF [NOT] EXISTS on the statement
    temporary: bool = False
    has_where: bool = False  # UPDATE/DELETE
    object_type: str = ""  # OTHER_DDL: VIEW, TRIGGER, PROCEDURE...
    note: str = ""  # what was not understood
    list_start: int = -1  # ALTER TABLE: offset where the specification list starts
    list_end: int = -1  # ...and where it ends (before partition options)

    @property
    def understood(self) -> bool:
        return self.kind != NOT_UNDERSTOOD and all(s.understood for s in self.specs)

    @property
    def unknown_parts(self) -> List[str]:
        parts = [self.note] if self.kind == NOT_UNDERSTOOD else []
        return parts + [f"{s.text!r}: {s.note}" for s in self.specs if not s.understood]

    @property
    def is_ddl(self) -> bool:
        return self.kind in (CREATE_TABLE, ALTER_TABLE, DROP_TABLE, RENAME_TABLES, TRUNCATE, CREATE_INDEX,
                             DROP_INDEX_STATEMENT, OTHER_DDL)

    @property
    def is_dml(self) -> bool:
        return self.kind in (INSERT, UPDATE, DELETE, REPLACE)

    def spec_actions(self) -> List[str]:
        return [s.action for s in self.specs]

    def explicit_clause(self, which: str) -> Optional[str]:
        """The statement's own ALGORITHM or LOCK value (the last one wins), upper case."""
        found = [s.options["value"] for s in self.specs if s.action == which]
        return found[-1] if found else None

    @property
    def has_partition_clause(self) -> bool:
        return any(s.action in (PARTITIONING, PARTITION_MANAGEMENT) for s in self.specs)


# ------------------------------------------------------------------- parser
class _Stream:
    def __init__(self, tokens: Sequence[Token], sql: str) -> None:
        self.tokens = list(tokens)
        self.sql = sql
        self.i = 0

    def peek(self, ahead: int = 0) -> Optional[Token]:
        j = self.i + ahead
        return self.tokens[j] if j < len(self.tokens) else None

    def at_end(self) -> bool:
        return self.i >= len(self.tokens)

    def next(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def word(self, *words: str, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token is not None and token.is_word(*words)

    def op(self, text: str, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token is not None and token.kind == OP and token.value == text

    def accept(self, *words: str) -> bool:
        if self.word(*words):
            self.i += 1
            return True
        return False

    def accept_sequence(self, *words: str) -> bool:
        if all(self.word(w, ahead=k) for k, w in enumerate(words)):
            self.i += len(words)
            return True
        return False

    def accept_op(self, text: str) -> bool:
        if self.op(text):
            self.i += 1
            return True
        return False

    def identifier(self) -> Optional[str]:
        token = self.peek()
        if token is None or token.kind not in (WORD, NAME, STRING):
            return None
        self.i += 1
        return token.identifier

    def table_name(self) -> Optional[TableName]:
        first = self.identifier()
        if first is None:
            return None
        if self.op(".") and self.peek(1) is not None and self.peek(1).kind in (WORD, NAME):
            self.i += 1
            return TableName(self.identifier() or "", first)
        return TableName(first)

    def group(self) -> Tuple[int, int]:
        """Consume a parenthesised group; its inner token range."""
        if not self.accept_op("("):
            return self.i, self.i
        start, depth = self.i, 1
        while not self.at_end():
            token = self.next()
            if token.kind == OP and token.value == "(":
                depth += 1
            elif token.kind == OP and token.value == ")":
                depth -= 1
                if depth == 0:
                    return start, self.i - 1
        return start, self.i

    def text(self, start: int, end: int) -> str:
        if start >= end or start >= len(self.tokens):
            return ""
        return self.sql[self.tokens[start].start:self.tokens[end - 1].end]

    def skip_expression(self) -> None:
        """Skip one value: a literal, a word (with a call's parentheses), a signed number or a group."""
        if self.op("("):
            self.group()
            return
        if self.op("-") or self.op("+"):
            self.i += 1
        token = self.peek()
        if token is None:
            return
        self.i += 1
        if token.kind == WORD and self.op("("):
            self.group()
        elif token.kind == WORD and self.peek() is not None and self.peek().kind == STRING:
            self.i += 1  # a prefixed literal: _utf8mb4'x', X'00', DATE '2020-01-01'


def split_top_level(tokens: Sequence[Token], separator: str = ",") -> List[Tuple[int, int]]:
    """Ranges of ``tokens`` between top-level separators."""
    ranges, depth, start = [], 0, 0
    for index, token in enumerate(tokens):
        if token.kind == OP and token.value == "(":
            depth += 1
        elif token.kind == OP and token.value == ")":
            depth -= 1
        elif depth == 0 and token.kind == OP and token.value == separator:
            ranges.append((start, index))
            start = index + 1
    ranges.append((start, len(tokens)))
    return ranges


def parse_statement(sql: str) -> ParsedStatement:
    """Parse one statement (without its terminating ``;``); never raises."""
    try:
        tokens = tokenize(sql)
    except SqlSyntaxError as exc:
        return ParsedStatement(NOT_UNDERSTOOD, sql, note=str(exc))
    stream = _Stream(tokens, sql)
    if stream.at_end():
        return ParsedStatement(NOT_UNDERSTOOD, sql, tokens, note="empty statement")
    try:
        parsed = _parse(stream)
    except (IndexError, ValueError) as exc:  # a shape the grammar below does not follow
        return ParsedStatement(NOT_UNDERSTOOD, sql, tokens, note=f"cannot follow the statement ({exc.__class__.__name__})")
    parsed.sql, parsed.tokens = sql, tokens
    return parsed


def _parse(s: _Stream) -> ParsedStatement:
    first = s.peek()
    head = first.value if first.kind == WORD else ""
    if head == "CREATE":
        return _parse_create(s)
    if head == "ALTER":
        return _parse_alter(s)
    if head == "DROP":
        return _parse_drop(s)
    if head == "RENAME":
        return _parse_rename(s)
    if head == "TRUNCATE":
        s.next()
        s.accept("TABLE")
        return ParsedStatement(TRUNCATE, s.sql, table=s.table_name())
    if head in ("INSERT", "REPLACE"):
        return _parse_insert(s)
    if head == "UPDATE":
        return _parse_update(s)
    if head == "DELETE":
        return _parse_delete(s)
    if head in ("SET", "USE", "START", "BEGIN", "COMMIT", "ROLLBACK", "LOCK", "UNLOCK", "SAVEPOINT", "RELEASE"):
        return ParsedStatement(SESSION, s.sql, object_type=head)
    if head in ("SELECT", "DO", "CALL", "SHOW", "EXPLAIN", "DESCRIBE", "DESC", "ANALYZE", "OPTIMIZE", "CHECK",
                "CHECKSUM", "FLUSH", "WITH", "VALUES", "TABLE"):
        return ParsedStatement(QUERY, s.sql, object_type=head)
    if head in ("GRANT", "REVOKE"):
        return ParsedStatement(OTHER_DDL, s.sql, object_type=head)
    return ParsedStatement(NOT_UNDERSTOOD, s.sql, note=f"statements starting with {first.text!r} are not linted")


_OTHER_OBJECTS = ("VIEW", "TRIGGER", "PROCEDURE", "FUNCTION", "EVENT", "DATABASE", "SCHEMA", "USER", "ROLE",
                  "SEQUENCE", "SERVER", "TABLESPACE", "LOGFILE", "AGGREGATE", "PACKAGE", "SPATIAL REFERENCE")


def _parse_create(s: _Stream) -> ParsedStatement:
    s.next()
    s.accept_sequence("OR", "REPLACE")
    s.accept("ONLINE", "OFFLINE")
    temporary = s.accept("TEMPORARY")
    if s.accept("TABLE"):
        return _parse_create_table(s, temporary)
    kind = "index"
    if s.accept("UNIQUE"):
        kind = "unique"
    elif s.accept("FULLTEXT"):
        kind = "fulltext"
    elif s.accept("SPATIAL"):
        kind = "spatial"
    if s.accept("INDEX", "KEY"):
        return _parse_create_index(s, kind)
    # CREATE [ALGORITHM=...] [DEFINER=...] [SQL SECURITY ...] VIEW/TRIGGER/PROCEDURE/...: the object word decides.
    for token in s.tokens[s.i:s.i + 12]:
        if token.kind == WORD and token.value in _OTHER_OBJECTS:
            return ParsedStatement(OTHER_DDL, s.sql, object_type=token.value)
    return ParsedStatement(NOT_UNDERSTOOD, s.sql, note="a CREATE statement of a kind the linter does not know")


def _parse_create_table(s: _Stream, temporary: bool) -> ParsedStatement:
    parsed = ParsedStatement(CREATE_TABLE, s.sql, temporary=temporary)
    parsed.if_exists = s.accept_sequence("IF", "NOT", "EXISTS")
    parsed.table = s.table_name()
    if s.accept("LIKE"):
        parsed.like = s.table_name()
        return parsed
    if s.op("(") and s.word("LIKE", ahead=1):
        s.next()
        s.next()
        parsed.like = s.table_name()
        return parsed
    if s.op("("):
        start, end = s.group()
        for item_start, item_end in split_top_level(s.tokens[start:end]):
            _create_item(parsed, _Stream(s.tokens[start + item_start:start + item_end], s.sql))
    rest = s.tokens[s.i:]
    parsed.as_select = any(t.is_word("SELECT") for t in rest)
    return parsed


def _create_item(parsed: ParsedStatement, s: _Stream) -> None:
    if s.at_end():
        return
    constraint_name = None
    if s.accept("CONSTRAINT"):
        if not s.word("PRIMARY", "UNIQUE", "FOREIGN", "CHECK"):
            constraint_name = s.identifier()
    if s.word("PRIMARY", "UNIQUE", "KEY", "INDEX", "FULLTEXT", "SPATIAL"):
        parsed.indexes.append(_index_definition(s, constraint_name))
    elif s.accept("FOREIGN"):
        s.accept("KEY")
        parsed.foreign_keys.append(_foreign_key(s, constraint_name))
    elif s.accept("CHECK"):
        start, end = s.group()
        parsed.checks.append(CheckDef(constraint_name, s.text(start, end)))
    elif s.word("PERIOD"):
        return
    else:
        column = _column_definition(s)
        parsed.columns.append(column)
        if column.primary_key:
            parsed.indexes.append(IndexDef("primary", "PRIMARY", [IndexColumn(column.name)]))
        elif column.unique:
            parsed.indexes.append(IndexDef("unique", column.name, [IndexColumn(column.name)]))


def _index_definition(s: _Stream, constraint_name: Optional[str]) -> IndexDef:
    """PRIMARY KEY / UNIQUE [KEY] / KEY / INDEX / FULLTEXT / SPATIAL [name] [USING x] (columns) [options]."""
    if s.accept("PRIMARY"):
        s.accept("KEY")
        kind, name = "primary", "PRIMARY"
    else:
        kind = "index"
        if s.accept("UNIQUE"):
            kind = "unique"
        elif s.accept("FULLTEXT"):
            kind = "fulltext"
        elif s.accept("SPATIAL"):
            kind = "spatial"
        s.accept("INDEX", "KEY")
        s.accept_sequence("IF", "NOT", "EXISTS")
        name = None
        if not s.op("(") and not s.word("USING"):
            name = s.identifier()
        name = name or constraint_name
    if s.accept("USING", "TYPE"):
        s.next()
    start, end = s.group()
    columns = [_index_column(s.tokens[start + a:start + b], s.sql) for a, b in split_top_level(s.tokens[start:end])]
    return IndexDef(kind, name, [c for c in columns if c is not None])


def _index_column(tokens: Sequence[Token], sql: str) -> Optional[IndexColumn]:
    if not tokens:
        return None
    first = tokens[0]
    if first.kind == OP and first.value == "(":
        return IndexColumn("", expression=sql[tokens[0].start:tokens[-1].end])
    length = None
    if len(tokens) >= 4 and tokens[1].kind == OP and tokens[1].value == "(" and tokens[2].kind == NUMBER:
        length = int(tokens[2].value)
    return IndexColumn(first.identifier, length)


def _foreign_key(s: _Stream, constraint_name: Optional[str]) -> ForeignKeyDef:
    s.accept_sequence("IF", "NOT", "EXISTS")
    index_name = None
    if not s.op("("):
        index_name = s.identifier()
    start, end = s.group()
    columns = [s.tokens[start + a].identifier for a, b in split_top_level(s.tokens[start:end]) if b > a]
    ref_table, ref_columns = TableName(""), []
    rules = {"DELETE": "RESTRICT", "UPDATE": "RESTRICT"}
    if s.accept("REFERENCES"):
        ref_table = s.table_name() or TableName("")
        start, end = s.group()
        ref_columns = [s.tokens[start + a].identifier for a, b in split_top_level(s.tokens[start:end]) if b > a]
        while not s.at_end():
            if s.accept("ON") and s.word("DELETE", "UPDATE"):
                which = s.next().value
                if s.accept("SET"):
                    rules[which] = "SET " + s.next().value
                elif s.accept("NO"):
                    s.accept("ACTION")
                    rules[which] = "NO ACTION"
                else:
                    rules[which] = s.next().value
            else:
                s.next()
    return ForeignKeyDef(constraint_name or index_name, columns, ref_table, ref_columns, rules["DELETE"], rules["UPDATE"])


_TWO_WORD_TYPES = {("DOUBLE", "PRECISION"): "double", ("CHARACTER", "VARYING"): "varchar", ("CHAR", "VARYING"): "varchar",
                   ("LONG", "VARCHAR"): "mediumtext", ("LONG", "VARBINARY"): "mediumblob", ("NATIONAL", "CHAR"): "char",
                   ("NATIONAL", "VARCHAR"): "varchar", ("NCHAR", "VARCHAR"): "varchar"}
_TYPE_ALIASES = {"integer": "int", "int4": "int", "int8": "bigint", "int1": "tinyint", "int2": "smallint",
                 "int3": "mediumint", "middleint": "mediumint", "dec": "decimal", "numeric": "decimal", "fixed": "decimal",
                 "real": "double", "float8": "double", "float4": "float", "bool": "tinyint", "boolean": "tinyint",
                 "character": "char", "nchar": "char", "nvarchar": "varchar", "long": "mediumtext"}
_COLUMN_END = ("FIRST", "AFTER")


def parse_column_type(text: str) -> ColumnType:
    """A type as information_schema.COLUMNS.COLUMN_TYPE spells it (``int(10) unsigned``, ``enum('a','b')``)."""
    stream = _Stream(tokenize(text), text)
    return _column_type(stream)


def _column_type(s: _Stream) -> ColumnType:
    token = s.next()
    name = token.value.lower()
    if s.peek() is not None and (token.value, s.peek().value) in _TWO_WORD_TYPES:
        name = _TWO_WORD_TYPES[(token.value, s.next().value)]
    if token.value in ("BOOL", "BOOLEAN"):
        return ColumnType("tinyint", ("1",))
    name = _TYPE_ALIASES.get(name, name)
    args: Tuple[str, ...] = ()
    if s.op("("):
        start, end = s.group()
        inner = s.tokens[start:end]
        if name in ("enum", "set"):
            args = tuple(t.value for t in inner if t.kind == STRING)
        else:
            args = tuple(t.value for t in inner if t.kind == NUMBER)
    column_type = ColumnType(name, args)
    while not s.at_end():
        if s.accept("UNSIGNED"):
            column_type.unsigned = True
        elif s.accept("SIGNED", "ZEROFILL", "BINARY", "ASCII", "UNICODE", "BYTE"):
            continue
        elif s.accept("CHARACTER", "CHARSET"):
            s.accept("SET")
            s.accept_op("=")
            column_type.charset = (s.identifier() or "").lower()
        elif s.accept("COLLATE"):
            s.accept_op("=")
            column_type.collation = (s.identifier() or "").lower()
        else:
            break
    if name == "serial":
        return ColumnType("bigint", (), True)
    return column_type


def _column_definition(s: _Stream) -> ColumnDef:
    start = s.i
    name = s.identifier() or ""
    column = ColumnDef(name, _column_type(s))
    while not s.at_end():
        if s.accept("NOT"):
            if s.accept("NULL"):
                column.nullable = False
        elif s.accept("NULL"):
            column.nullable = True
        elif s.accept("DEFAULT"):
            value_start = s.i
            s.skip_expression()
            column.default = s.text(value_start, s.i)
        elif s.accept_sequence("ON", "UPDATE"):
            s.skip_expression()
        elif s.accept("AUTO_INCREMENT"):
            column.auto_increment = True
        elif s.accept("PRIMARY"):
            s.accept("KEY")
            column.primary_key = True
        elif s.accept("KEY"):
            column.primary_key = True
        elif s.accept("UNIQUE"):
            s.accept("KEY")
            column.unique = True
        elif s.accept("COMMENT", "COLUMN_FORMAT", "STORAGE", "COMPRESSED"):
            if s.op("="):
                s.next()
            if not s.at_end() and not s.word(*_COLUMN_END) and not s.op(","):
                s.next()
        elif s.accept("CHARACTER", "CHARSET"):
            s.accept("SET")
            column.type.charset = (s.identifier() or "").lower()
        elif s.accept("COLLATE"):
            column.type.collation = (s.identifier() or "").lower()
        elif s.accept("GENERATED"):
            s.accept("ALWAYS")
        elif s.accept("AS"):
            s.group()
            column.generated = "virtual"
        elif s.accept("VIRTUAL"):
            column.generated = "virtual"
        elif s.accept("STORED", "PERSISTENT"):
            column.generated = "stored"
        elif s.accept("CONSTRAINT"):
            if not s.word("CHECK"):
                s.identifier()
        elif s.accept("CHECK"):
            check_start, check_end = s.group()
            column.check = s.text(check_start, check_end)
        elif s.accept("REFERENCES"):
            while not s.at_end() and not s.word(*_COLUMN_END):
                s.next()
        elif s.accept("FIRST"):
            column.position = "FIRST"
        elif s.accept("AFTER"):
            column.position = "AFTER " + (s.identifier() or "")
        elif s.op("("):
            s.group()
        else:
            s.next()  # INVISIBLE, SERIAL DEFAULT VALUE, WITH SYSTEM VERSIONING...: no bearing on the rules
    if column.primary_key:
        column.nullable = False if column.nullable is None else column.nullable
    column.text = s.text(start, s.i)
    return column


# ALTER TABLE ----------------------------------------------------------------
_PARTITION_STARTS = ("PARTITION", "REMOVE")
_PARTITION_VERBS = ("ADD", "DROP", "COALESCE", "REORGANIZE", "TRUNCATE", "EXCHANGE", "ANALYZE", "CHECK", "OPTIMIZE",
                    "REBUILD", "REPAIR", "DISCARD", "IMPORT", "CONVERT")
_TABLE_OPTIONS = ("ENGINE", "ROW_FORMAT", "AUTO_INCREMENT", "COMMENT", "KEY_BLOCK_SIZE", "STATS_PERSISTENT",
                  "STATS_AUTO_RECALC", "STATS_SAMPLE_PAGES", "PAGE_COMPRESSED", "PAGE_COMPRESSION_LEVEL", "ENCRYPTED",
                  "ENCRYPTION_KEY_ID", "CHECKSUM", "TABLE_CHECKSUM", "PACK_KEYS", "DELAY_KEY_WRITE", "AVG_ROW_LENGTH",
                  "MAX_ROWS", "MIN_ROWS", "INSERT_METHOD", "CONNECTION", "PASSWORD", "COMPRESSION", "ENCRYPTION",
                  "TRANSACTIONAL", "SEQUENCE", "STATS_AUTO_RECALC", "UNION", "AUTOEXTEND_SIZE", "SECONDARY_ENGINE",
                  "WITH", "WITHOUT", "DATA", "INDEX", "TABLESPACE", "CHARACTER", "CHARSET", "COLLATE", "DEFAULT",
                  "IETF_QUOTES")


def _parse_alter(s: _Stream) -> ParsedStatement:
    s.next()
    s.accept("ONLINE", "OFFLINE")
    s.accept("IGNORE")
    if not s.accept("TABLE"):
        token = s.peek()
        return ParsedStatement(OTHER_DDL, s.sql, object_type=token.value if token else "")
    parsed = ParsedStatement(ALTER_TABLE, s.sql)
    parsed.if_exists = s.accept_sequence("IF", "EXISTS")
    parsed.table = s.table_name()
    if s.accept("WAIT"):
        s.next()
    s.accept("NOWAIT")
    parsed.list_start = s.tokens[s.i].start if not s.at_end() else len(s.sql)
    rest = s.tokens[s.i:]
    list_end_token = len(rest)
    for index, token in enumerate(rest):  # partition options follow the list without a comma
        if _depth(rest, index) == 0 and _starts_partition_clause(rest, index):
            list_end_token = index
            break
    parsed.list_end = rest[list_end_token - 1].end if list_end_token > 0 else parsed.list_start
    for a, b in split_top_level(rest[:list_end_token]):
        if b > a:
            parsed.specs.extend(_alter_specs(_Stream(rest[a:b], s.sql)))
    if list_end_token < len(rest):
        partition = rest[list_end_token:]
        action = PARTITIONING if partition[0].is_word("PARTITION", "REMOVE") else PARTITION_MANAGEMENT
        parsed.specs.append(AlterSpec(action, s.sql[partition[0].start:partition[-1].end], partition[0].start, partition[-1].end))
    return parsed


def _depth(tokens: Sequence[Token], index: int) -> int:
    depth = 0
    for token in tokens[:index]:
        if token.kind == OP and token.value == "(":
            depth += 1
        elif token.kind == OP and token.value == ")":
            depth -= 1
    return depth


def _starts_partition_clause(tokens: Sequence[Token], index: int) -> bool:
    token = tokens[index]
    following = tokens[index + 1] if index + 1 < len(tokens) else None
    if token.is_word("PARTITION") and following is not None and following.is_word("BY"):
        return True
    if token.is_word("REMOVE") and following is not None and following.is_word("PARTITIONING"):
        return True
    if token.is_word(*_PARTITION_VERBS) and following is not None and following.is_word("PARTITION"):
        previous = tokens[index - 1] if index > 0 else None
        return previous is None or (previous.kind == OP and previous.value == ",")
    return False


def _alter_specs(s: _Stream) -> List[AlterSpec]:
    """One comma-separated item of the list: usually one specification, several for space-separated table options."""
    start_token = s.tokens[0]
    text = s.text(0, len(s.tokens))
    spec = AlterSpec(UNKNOWN, text, start_token.start, s.tokens[-1].end)
    head = s.peek()
    verb = head.value if head.kind == WORD else ""
    if verb == "ADD":
        s.next()
        _alter_add(s, spec)
    elif verb in ("CHANGE", "MODIFY"):
        s.next()
        s.accept("COLUMN")
        spec.if_exists = s.accept_sequence("IF", "EXISTS")
        if verb == "CHANGE":
            spec.action, spec.old_name = CHANGE_COLUMN, s.identifier()
            spec.column = _column_definition(s)
            spec.new_name = spec.column.name
        else:
            spec.action = MODIFY_COLUMN
            spec.column = _column_definition(s)
            spec.old_name = spec.new_name = spec.column.name
    elif verb == "DROP":
        s.next()
        _alter_drop(s, spec)
    elif verb == "RENAME":
        s.next()
        if s.accept("COLUMN"):
            spec.action, spec.old_name = RENAME_COLUMN, s.identifier()
            s.accept("TO")
            spec.new_name = s.identifier()
        elif s.accept("INDEX", "KEY"):
            spec.action, spec.old_name = RENAME_INDEX, s.identifier()
            s.accept("TO")
            spec.new_name = s.identifier()
        else:
            s.accept("TO", "AS")
            spec.action, spec.new_table = RENAME_TABLE, s.table_name()
    elif verb == "ALTER":
        s.next()
        if s.accept("INDEX", "KEY", "CHECK", "CONSTRAINT"):
            spec.action, spec.old_name = ALTER_INDEX, s.identifier()
        else:
            s.accept("COLUMN")
            spec.if_exists = s.accept_sequence("IF", "EXISTS")
            spec.old_name = spec.new_name = s.identifier()
            spec.action = ALTER_COLUMN_DEFAULT
            if s.accept("SET"):
                if s.accept("DEFAULT"):
                    value_start = s.i
                    s.skip_expression()
                    spec.options["default"] = s.text(value_start, s.i)
                else:
                    spec.options["visibility"] = s.next().value if not s.at_end() else ""
            elif s.accept("DROP"):
                s.accept("DEFAULT")
                spec.options["default"] = ""
    elif verb in ("ALGORITHM", "LOCK"):
        s.next()
        s.accept_op("=")
        spec.action = ALGORITHM if verb == "ALGORITHM" else LOCK
        spec.options["value"] = s.next().value if not s.at_end() else ""
    elif verb == "FORCE":
        spec.action = FORCE
    elif verb == "CONVERT":
        s.next()
        s.accept("TO")
        s.accept("CHARACTER", "CHARSET")
        s.accept("SET")
        spec.action = CONVERT_CHARSET
        spec.options["charset"] = (s.identifier() or "").lower()
        if s.accept("COLLATE"):
            spec.options["collation"] = (s.identifier() or "").lower()
    elif verb == "ORDER":
        spec.action = ORDER_BY
    elif verb in ("ENABLE", "DISABLE") and s.word("KEYS", ahead=1):
        spec.action = KEYS_TOGGLE
    elif verb in ("DISCARD", "IMPORT") and s.word("TABLESPACE", ahead=1):
        spec.action = TABLESPACE
    elif verb in _TABLE_OPTIONS:
        return _table_options(s, spec)
    else:
        spec.note = f"the ALTER TABLE specification {verb or head.text!r} is not known to the linter"
    return [spec]


def _alter_add(s: _Stream, spec: AlterSpec) -> None:
    explicit_column = s.accept("COLUMN")
    if_not_exists = s.accept_sequence("IF", "NOT", "EXISTS")
    spec.if_exists = if_not_exists
    constraint_name = None
    if not explicit_column and s.accept("CONSTRAINT"):
        if_not_exists = s.accept_sequence("IF", "NOT", "EXISTS") or if_not_exists
        if not s.word("PRIMARY", "UNIQUE", "FOREIGN", "CHECK"):
            constraint_name = s.identifier()
    if not explicit_column and s.word("PRIMARY", "UNIQUE", "KEY", "INDEX", "FULLTEXT", "SPATIAL"):
        spec.action = ADD_INDEX
        spec.index = _index_definition(s, constraint_name)
        spec.if_exists = if_not_exists or "IF NOT EXISTS" in " ".join(spec.text.upper().split())
    elif not explicit_column and s.accept("FOREIGN"):
        s.accept("KEY")
        spec.if_exists = if_not_exists or s.word("IF")
        spec.action, spec.foreign_key = ADD_FOREIGN_KEY, _foreign_key(s, constraint_name)
    elif not explicit_column and s.accept("CHECK"):
        start, end = s.group()
        spec.action, spec.check = ADD_CHECK, CheckDef(constraint_name, s.text(start, end))
    elif not explicit_column and s.word("PERIOD", "SYSTEM"):
        spec.note = "system-versioning and period specifications are not linted"
    elif s.op("("):  # ADD [COLUMN] (a INT, b INT)
        start, end = s.group()
        columns = [_column_definition(_Stream(s.tokens[start + a:start + b], s.sql))
                   for a, b in split_top_level(s.tokens[start:end]) if b > a]
        spec.action, spec.column = ADD_COLUMN, columns[0] if columns else None
        spec.extra_columns = columns[1:]
    else:
        spec.action, spec.column = ADD_COLUMN, _column_definition(s)
        spec.new_name = spec.column.name


def _alter_drop(s: _Stream, spec: AlterSpec) -> None:
    if s.accept("PRIMARY"):
        s.accept("KEY")
        spec.action, spec.old_name = DROP_PRIMARY_KEY, "PRIMARY"
    elif s.accept("INDEX", "KEY"):
        spec.if_exists = s.accept_sequence("IF", "EXISTS")
        spec.action, spec.old_name = DROP_INDEX, s.identifier()
    elif s.accept("FOREIGN"):
        s.accept("KEY")
        spec.if_exists = s.accept_sequence("IF", "EXISTS")
        spec.action, spec.old_name = DROP_FOREIGN_KEY, s.identifier()
    elif s.accept("CONSTRAINT", "CHECK"):
        spec.if_exists = s.accept_sequence("IF", "EXISTS")
        spec.action, spec.old_name = DROP_CONSTRAINT, s.identifier()
    elif s.word("PERIOD", "SYSTEM"):
        spec.note = "system-versioning and period specifications are not linted"
    else:
        s.accept("COLUMN")
        spec.if_exists = s.accept_sequence("IF", "EXISTS")
        spec.action, spec.old_name = DROP_COLUMN, s.identifier()


def _table_options(s: _Stream, first: AlterSpec) -> List[AlterSpec]:
    """ENGINE=InnoDB ROW_FORMAT=DYNAMIC [DEFAULT] CHARSET=x ...: one spec holding every option of the item."""
    first.action = TABLE_OPTIONS
    while not s.at_end():
        s.accept("DEFAULT")
        token = s.next()
        key = token.value
        if key in ("CHARACTER", "CHARSET"):
            s.accept("SET")
            key = "CHARSET"
        elif key in ("DATA", "INDEX"):
            s.accept("DIRECTORY")
        elif key in ("WITH", "WITHOUT"):
            s.accept("SYSTEM")
            s.accept("VERSIONING")
            first.options[key + " SYSTEM VERSIONING"] = ""
            continue
        s.accept_op("=")
        if s.op("("):
            start, end = s.group()
            value = s.text(start, end)
        else:
            value = s.next().value if not s.at_end() else ""
        first.options[key] = value
    return [first]


def _parse_create_index(s: _Stream, kind: str) -> ParsedStatement:
    if_not_exists = s.accept_sequence("IF", "NOT", "EXISTS")
    name = s.identifier()
    if s.accept("USING", "TYPE"):
        s.next()
    s.accept("ON")
    parsed = ParsedStatement(CREATE_INDEX, s.sql, table=s.table_name(), if_exists=if_not_exists)
    start, end = s.group()
    columns = [_index_column(s.tokens[start + a:start + b], s.sql) for a, b in split_top_level(s.tokens[start:end])]
    spec = AlterSpec(ADD_INDEX, s.sql, 0, len(s.sql), index=IndexDef(kind, name, [c for c in columns if c is not None]),
                     if_exists=if_not_exists)
    parsed.specs.append(spec)
    _index_statement_options(s, parsed)
    return parsed


def _index_statement_options(s: _Stream, parsed: ParsedStatement) -> None:
    while not s.at_end():
        token = s.next()
        if token.is_word("ALGORITHM", "LOCK"):
            start = token.start
            s.accept_op("=")
            value = s.next() if not s.at_end() else token
            parsed.specs.append(AlterSpec(ALGORITHM if token.value == "ALGORITHM" else LOCK, s.sql[start:value.end],
                                          start, value.end, options={"value": value.value}))


def _parse_drop(s: _Stream) -> ParsedStatement:
    s.next()
    temporary = s.accept("TEMPORARY")
    if s.accept("TABLE", "TABLES"):
        parsed = ParsedStatement(DROP_TABLE, s.sql, temporary=temporary)
        parsed.if_exists = s.accept_sequence("IF", "EXISTS")
        while not s.at_end():
            name = s.table_name()
            if name is not None and name.name.upper() not in ("RESTRICT", "CASCADE"):
                parsed.tables.append(name)
            if not s.accept_op(","):
                break
        parsed.table = parsed.tables[0] if parsed.tables else None
        return parsed
    s.accept("ONLINE", "OFFLINE")
    if s.accept("INDEX", "KEY"):
        if_exists = s.accept_sequence("IF", "EXISTS")
        name = s.identifier()
        s.accept("ON")
        parsed = ParsedStatement(DROP_INDEX_STATEMENT, s.sql, table=s.table_name(), if_exists=if_exists)
        parsed.specs.append(AlterSpec(DROP_INDEX if (name or "").upper() != "PRIMARY" else DROP_PRIMARY_KEY, s.sql, 0,
                                      len(s.sql), old_name=name, if_exists=if_exists))
        _index_statement_options(s, parsed)
        return parsed
    token = s.peek()
    if token is not None and token.kind == WORD:
        return ParsedStatement(OTHER_DDL, s.sql, object_type=token.value)
    return ParsedStatement(NOT_UNDERSTOOD, s.sql, note="a DROP statement of a kind the linter does not know")


def _parse_rename(s: _Stream) -> ParsedStatement:
    s.next()
    if not s.accept("TABLE", "TABLES"):
        token = s.peek()
        return ParsedStatement(OTHER_DDL, s.sql, object_type=token.value if token else "")
    parsed = ParsedStatement(RENAME_TABLES, s.sql)
    parsed.if_exists = s.accept_sequence("IF", "EXISTS")
    while not s.at_end():
        old = s.table_name()
        if s.accept("WAIT"):
            s.next()
        s.accept("NOWAIT")
        s.accept("TO")
        new = s.table_name()
        if old and new:
            parsed.renames.append((old, new))
        if not s.accept_op(","):
            break
    parsed.table = parsed.renames[0][0] if parsed.renames else None
    return parsed


def _parse_insert(s: _Stream) -> ParsedStatement:
    kind = INSERT if s.next().value == "INSERT" else REPLACE
    while s.accept("LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE"):
        pass
    s.accept("INTO")
    parsed = ParsedStatement(kind, s.sql, table=s.table_name())
    parsed.as_select = any(t.is_word("SELECT") for t in s.tokens[s.i:])
    return parsed


def _parse_update(s: _Stream) -> ParsedStatement:
    s.next()
    while s.accept("LOW_PRIORITY", "IGNORE"):
        pass
    parsed = ParsedStatement(UPDATE, s.sql, table=s.table_name())
    parsed.has_where = _top_level_word(s.tokens, "WHERE")
    return parsed


def _parse_delete(s: _Stream) -> ParsedStatement:
    s.next()
    while s.accept("LOW_PRIORITY", "QUICK", "IGNORE"):
        pass
    if s.accept("FROM"):
        table = s.table_name()
    else:  # DELETE t1 FROM t1 JOIN ...
        table = s.table_name()
    parsed = ParsedStatement(DELETE, s.sql, table=table)
    parsed.has_where = _top_level_word(s.tokens, "WHERE")
    return parsed


def _top_level_word(tokens: Sequence[Token], word: str) -> bool:
    depth = 0
    for token in tokens:
        if token.kind == OP and token.value == "(":
            depth += 1
        elif token.kind == OP and token.value == ")":
            depth -= 1
        elif depth == 0 and token.is_word(word):
            return True
    return False


# --------------------------------------------------- ALGORITHM/LOCK rewriting
class CannotRewrite(ValueError):
    """The statement cannot carry an ALGORITHM/LOCK clause (partition management, not an ALTER)."""


def with_algorithm(parsed: ParsedStatement, algorithm: Optional[str], lock: Optional[str], force: bool = False) -> str:
    """The statement with ``ALGORITHM=`` / ``LOCK=`` set, as MariaDB and MySQL both accept it.

    ALTER TABLE: the clause is appended to the specification list, before any partition
    options (the last ALGORITHM/LOCK wins, so the statement's own clause is overridden).
    CREATE INDEX: its own ALGORITHM/LOCK options are replaced (a repeat is a syntax error).
    DROP INDEX ... ON: rewritten as ALTER TABLE ... DROP INDEX (MariaDB refuses the clause there).
    ``force`` adds FORCE (a rebuild) to an ALTER TABLE's list.
    """
    items = ["FORCE" if force and parsed.kind == ALTER_TABLE else "", f"ALGORITHM={algorithm}" if algorithm else "",
             f"LOCK={lock}" if lock else ""]
    items = [i for i in items if i]
    if not items:
        return parsed.sql
    sql = parsed.sql
    if parsed.kind == ALTER_TABLE:
        if any(s.action == PARTITION_MANAGEMENT for s in parsed.specs):
            raise CannotRewrite("partition management statements take no ALGORITHM clause")
        listed = [s for s in parsed.specs if s.action not in (PARTITIONING, PARTITION_MANAGEMENT)]
        if listed:
            return sql[:parsed.list_end] + ", " + ", ".join(items) + sql[parsed.list_end:]
        return sql[:parsed.list_start].rstrip() + " " + ", ".join(items) + " " + sql[parsed.list_start:].lstrip()
    if parsed.kind == CREATE_INDEX:
        kept, cursor = [], 0
        for spec in sorted((s for s in parsed.specs if s.action in (ALGORITHM, LOCK)), key=lambda s: s.start):
            kept.append(sql[cursor:spec.start])
            cursor = spec.end
        kept.append(sql[cursor:])
        return "".join(kept).rstrip() + " " + " ".join(items)
    if parsed.kind == DROP_INDEX_STATEMENT and parsed.table is not None and parsed.specs:
        spec = parsed.specs[0]
        target = _quoted_table(parsed.table)
        what = "PRIMARY KEY" if spec.action == DROP_PRIMARY_KEY else "INDEX " + _quote(spec.old_name or "")
        exists = " IF EXISTS" if spec.if_exists and spec.action == DROP_INDEX else ""
        return f"ALTER TABLE {target} DROP {what.replace('INDEX ', 'INDEX' + exists + ' ', 1)}, " + ", ".join(items)
    raise CannotRewrite(f"a {parsed.kind.replace('_', ' ')} statement takes no ALGORITHM clause")


def alter_clauses(parsed: ParsedStatement) -> str:
    """The specification list of an ALTER TABLE without its ALGORITHM/LOCK items (what pt-online-schema-change's --alter takes)."""
    if parsed.kind == CREATE_INDEX and parsed.specs and parsed.specs[0].index is not None:
        index = parsed.specs[0].index
        kind = {"unique": "UNIQUE INDEX", "fulltext": "FULLTEXT INDEX", "spatial": "SPATIAL INDEX"}.get(index.kind, "INDEX")
        columns = ", ".join(c.expression or (_quote(c.name) + (f"({c.length})" if c.length else "")) for c in index.columns)
        return f"ADD {kind} {_quote(index.name or '')} ({columns})"
    if parsed.kind == DROP_INDEX_STATEMENT and parsed.specs:
        return "DROP PRIMARY KEY" if parsed.specs[0].action == DROP_PRIMARY_KEY else f"DROP INDEX {_quote(parsed.specs[0].old_name or '')}"
    if parsed.kind != ALTER_TABLE:
        raise CannotRewrite(f"a {parsed.kind.replace('_', ' ')} statement is not an ALTER TABLE")
    kept = [s.text for s in parsed.specs if s.action not in (ALGORITHM, LOCK, PARTITIONING, PARTITION_MANAGEMENT)]
    if any(s.action in (PARTITIONING, PARTITION_MANAGEMENT, RENAME_TABLE) for s in parsed.specs):
        raise CannotRewrite("partitioning and RENAME TO cannot be run through an online schema change tool")
    return ", ".join(kept)


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _quoted_table(table: TableName) -> str:
    return (_quote(table.schema) + "." if table.schema else "") + _quote(table.name)


def statement_line_offset(sql: str, offset: int) -> int:
    """How many lines into the statement ``offset`` lies (0 for the first line)."""
    return sql.count("\n", 0, max(0, offset))
