"""A CREATE TABLE as the server writes it (SHOW CREATE TABLE, a dump), taken apart so a copy can rebuild it faithfully.

The one thing a copy of ``SHOW CREATE TABLE`` gets wrong is the index InnoDB made for a foreign key. When a
foreign key is added and no index starts with its columns, the server creates one itself (named after the
constraint, or after the first column for an unnamed constraint) and marks it *generated*: a later ALTER that
adds another index starting with those columns drops it silently. ``SHOW CREATE TABLE`` writes it as an ordinary
``KEY``, so a table rebuilt from that text has an explicit index that nothing drops: after a migration that adds a
covering index, production loses the index and the copy keeps it.

A copy therefore creates each table without its generated indexes and adds the foreign keys afterwards, so the
server generates them again, under the same names (``foreign_key_statements``). Which indexes are generated is
read on the source by ``catalog.generated_fk_indexes`` (a probe of a temporary copy of the table); without it,
``generated_by_rule`` tells from the text alone. Both the gate's copy (``gate/clone.py``) and the backup restore
(``backup/dump_restore.py``) use this module.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple

from .connection import quote_name

_NAME = r"`((?:[^`]|``)*)`"
_BODY_LINE = re.compile(r"^  (?:`|PRIMARY KEY|UNIQUE KEY|KEY|FULLTEXT KEY|SPATIAL KEY|CONSTRAINT|INDEX|PERIOD|SYSTEM)")
_KEY = re.compile(rf"^  (?P<kind>PRIMARY KEY|UNIQUE KEY|KEY|FULLTEXT KEY|SPATIAL KEY)(?: {_NAME})? \((?P<parts>.*?)\)(?P<options>.*)$")
_FOREIGN_KEY = re.compile(rf"^  CONSTRAINT {_NAME} FOREIGN KEY \((?P<columns>[^)]*)\) REFERENCES (?P<rest>.*)$")
_PART = re.compile(rf"^{_NAME}(?:\((\d+)\))?(?: (?:ASC|DESC))?$")
_AUTO_INCREMENT_COLUMN = re.compile(rf"^  {_NAME} .*\bAUTO_INCREMENT\b")
_AUTO_INCREMENT_OPTION = re.compile(r"\s+AUTO_INCREMENT=\d+", re.IGNORECASE)
_CREATE = re.compile(rf"^CREATE TABLE {_NAME} \($")


def _unquote(text: str) -> str:
    return text.replace("``", "`")


def _parts(text: str) -> Optional[Tuple[str, ...]]:
    """Key parts as written: 'a', 'b(20)'; None for anything else (an expression, a part we cannot read)."""
    parts: List[str] = []
    for piece in re.split(r",(?=`)", text):
        match = _PART.match(piece.strip())
        if not match:
            return None
        parts.append(_unquote(match.group(1)) + (f"({match.group(2)})" if match.group(2) else ""))
    return tuple(parts)


@dataclass(frozen=True)
class KeyClause:
    kind: str  # PRIMARY KEY, UNIQUE KEY, KEY, FULLTEXT KEY, SPATIAL KEY
    name: str  # PRIMARY for the primary key
    parts: Optional[Tuple[str, ...]]  # None: parts this module does not read (it then never touches the key)
    options: str  # what follows the parts: USING, COMMENT, IGNORED...
    text: str  # the clause as written, without the leading blanks and the trailing comma


@dataclass(frozen=True)
class ForeignKeyClause:
    name: str
    columns: Tuple[str, ...]
    text: str  # CONSTRAINT `name` FOREIGN KEY (...) REFERENCES ...

    @property
    def unnamed_text(self) -> str:
        """The clause without its CONSTRAINT name: the server then names the constraint and its index itself."""
        return self.text.split(" ", 2)[2] if self.text.startswith("CONSTRAINT ") else self.text


@dataclass
class CreateTable:
    """One CREATE TABLE statement, line by line: columns and other lines kept as written, keys and FKs read."""

    name: str
    head: str
    lines: List[str]  # every body line, as written, without its trailing comma
    tail: List[str]  # ') ENGINE=...' and anything after
    keys: List[KeyClause] = field(default_factory=list)
    foreign_keys: List[ForeignKeyClause] = field(default_factory=list)
    auto_increment_column: Optional[str] = None

    def key(self, name: str) -> Optional[KeyClause]:
        return next((key for key in self.keys if key.name == name), None)

    @property
    def primary_parts(self) -> Optional[Tuple[str, ...]]:
        primary = self.key("PRIMARY")
        return primary.parts if primary else None

    def render(self, without: Tuple[str, ...] = (), keep_auto_increment: bool = True) -> str:
        """The statement without the body lines in ``without`` (clause texts), optionally without AUTO_INCREMENT=."""
        body = [line for line in self.lines if line.strip() not in without]
        tail = list(self.tail)
        if not keep_auto_increment and tail:
            tail[0] = _AUTO_INCREMENT_OPTION.sub("", tail[0])
        return "\n".join([self.head, ",\n".join(body), *tail])


def parse_create_table(sql: str) -> Optional[CreateTable]:
    """The statement taken apart, or None when its layout is not the server's own (then copy it as it is)."""
    lines = sql.split("\n")
    head = _CREATE.match(lines[0].rstrip()) if lines else None
    close = next((index for index, line in enumerate(lines) if line.startswith(")")), None)
    if head is None or close is None or close < 2:
        return None
    body = [line[:-1] if line.endswith(",") else line for line in lines[1:close]]
    if not all(_BODY_LINE.match(line) for line in body):
        return None
    table = CreateTable(name=_unquote(head.group(1)), head=lines[0].rstrip(), lines=body, tail=lines[close:])
    for line in body:
        key = _KEY.match(line)
        if key:
            name = "PRIMARY" if key.group("kind") == "PRIMARY KEY" else _unquote(key.group(2) or "")
            table.keys.append(KeyClause(key.group("kind"), name, _parts(key.group("parts")), key.group("options").strip(), line.strip()))
            continue
        foreign = _FOREIGN_KEY.match(line)
        if foreign:
            columns = _parts(foreign.group("columns")) or ()
            table.foreign_keys.append(ForeignKeyClause(_unquote(foreign.group(1)), columns, line.strip()))
            continue
        auto = _AUTO_INCREMENT_COLUMN.match(line)
        if auto:
            table.auto_increment_column = _unquote(auto.group(1))
    return table


def unnamed_constraint_number(table: str, constraint: str) -> Optional[int]:
    """N of ``<table>_ibfk_N``, the name InnoDB gives an unnamed foreign key (MariaDB and MySQL alike); else None."""
    match = re.fullmatch(re.escape(table) + r"_ibfk_(\d+)", constraint)
    return int(match.group(1)) if match else None


def fk_index_candidates(table: CreateTable) -> Dict[str, str]:
    """Foreign key -> the index the server would have generated for it, when the text has one that could be it.

    A generated index is a plain KEY on exactly the foreign key's columns (no prefix, no option), named after the
    constraint, or after its first column when the constraint is unnamed (``<table>_ibfk_N``). Only such an index
    can be rebuilt as generated under the same name; any other stays as written.
    """
    found: Dict[str, str] = {}
    for foreign in table.foreign_keys:
        for key in table.keys:
            if key.kind != "KEY" or key.options or key.parts is None or key.parts != foreign.columns:
                continue
            named = key.name == foreign.name
            unnamed = key.name == foreign.columns[0] and unnamed_constraint_number(table.name, foreign.name) is not None
            if named or unnamed:
                found[foreign.name] = key.name
    return found


def _covered_elsewhere(table: CreateTable, index: str, columns: Tuple[str, ...]) -> bool:
    for key in table.keys:
        if key.name != index and key.kind != "FULLTEXT KEY" and key.parts and key.parts[:len(columns)] == columns:
            return True
    return False


def generated_by_rule(table: CreateTable) -> Dict[str, str]:
    """The candidates that must be generated, judged from the text alone (when the source cannot be probed).

    The server drops a generated index as soon as any ALTER finds another index starting with its columns, so an
    index that has such a sibling is explicit. The rest are taken as generated: an index written by hand with
    exactly its foreign key's name and columns is indistinguishable here (``catalog.generated_fk_indexes`` tells).
    """
    candidates = fk_index_candidates(table)
    by_fk = {foreign.name: foreign for foreign in table.foreign_keys}
    return {fk: index for fk, index in candidates.items() if not _covered_elsewhere(table, index, by_fk[fk].columns)}


@dataclass
class TablePlan:
    """How to rebuild one table: its CREATE without foreign keys (and without generated indexes), then ALTERs."""

    create: str
    foreign_key_statements: List[str]
    generated: Dict[str, str]  # fk -> index the ALTERs make the server generate
    kept_explicit: Dict[str, str]  # fk -> index generated on the source that cannot be rebuilt as such (no PK to bump N)


def plan_table(
    table: CreateTable, generated: Mapping[str, str], keep_auto_increment: bool = True, qualified: str = ""
) -> TablePlan:
    """The CREATE and the foreign-key ALTERs that rebuild ``table`` with ``generated`` (fk -> index) generated.

    Named constraints are added in one ALTER: each generated index takes the constraint's name. An unnamed one
    (``<table>_ibfk_N``, index named after its column) is added without a name, alone, after the table's
    constraints numbered below N: the server numbers it highest + 1. When that would not be N, a stand-in
    constraint ``<table>_ibfk_<N-1>`` over the primary key (referencing itself, so no index is generated) raises
    the count first and is dropped straight after. ``qualified`` is the table's name as the ALTERs write it.
    """
    name = qualified or quote_name(table.name)
    wanted = dict(generated)
    kept: Dict[str, str] = {}
    primary = table.primary_parts
    bump_possible = bool(primary) and all("(" not in part for part in primary or ())
    if not bump_possible:
        for fk, index in list(wanted.items()):
            if index != fk:
                kept[fk] = wanted.pop(fk)
    if table.auto_increment_column and wanted:
        # The AUTO_INCREMENT column needs a key from the start: never defer one it might be the first part of.
        for fk, index in list(wanted.items()):
            key = table.key(index)
            if key and key.parts and key.parts[0] == table.auto_increment_column:
                kept[fk] = wanted.pop(fk)
    without = tuple(table.key(index).text for index in wanted.values() if table.key(index)) + tuple(
        foreign.text for foreign in table.foreign_keys
    )
    create = table.render(without, keep_auto_increment)
    statements: List[str] = []

    def number(foreign: ForeignKeyClause) -> int:
        return unnamed_constraint_number(table.name, foreign.name) or 0

    def rebuilt_unnamed(foreign: ForeignKeyClause) -> bool:
        return foreign.name in wanted and wanted[foreign.name] != foreign.name

    first_unnamed = min([number(f) for f in table.foreign_keys if rebuilt_unnamed(f)] or [0])
    at_once = [f for f in table.foreign_keys if not rebuilt_unnamed(f) and not (first_unnamed and number(f) > first_unnamed)]
    one_by_one = sorted((f for f in table.foreign_keys if f not in at_once), key=number)
    if at_once:
        statements.append(f"ALTER TABLE {name} " + ", ".join("ADD " + f.text for f in at_once))
    highest = max([number(f) for f in at_once] or [0])
    for foreign in one_by_one:
        if not rebuilt_unnamed(foreign):
            statements.append(f"ALTER TABLE {name} ADD {foreign.text}")
            highest = max(highest, number(foreign))
            continue
        stand_in = f"{table.name}_ibfk_{number(foreign) - 1}" if highest < number(foreign) - 1 else None
        if stand_in:
            columns = ", ".join(quote_name(part) for part in primary or ())
            statements.append(
                f"ALTER TABLE {name} ADD CONSTRAINT {quote_name(stand_in)} FOREIGN KEY ({columns}) "
                f"REFERENCES {quote_name(table.name)} ({columns})"
            )
        statements.append(f"ALTER TABLE {name} ADD {foreign.unnamed_text}")
        if stand_in:
            statements.append(f"ALTER TABLE {name} DROP FOREIGN KEY {quote_name(stand_in)}")
        highest = number(foreign)
    return TablePlan(create, statements, wanted, kept)
