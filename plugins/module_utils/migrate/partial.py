"""Undoing a migration that ran only in part: which down statements apply, by one stated rule.

When a migration stopped halfway (its up failed at statement k, the server
died, or its own down stopped halfway), its down file was written for the
whole change. The rollback still runs it, statement by statement, judging each
against the objects that exist right now:

- a statement that removes objects (``DROP TABLE/VIEW/INDEX/PROCEDURE/FUNCTION/TRIGGER/EVENT``,
  ``ALTER TABLE ... DROP COLUMN/INDEX/KEY/FOREIGN KEY/PRIMARY KEY``) runs where they exist and is
  skipped where none does: the up never created them;
- a statement that creates objects (``CREATE TABLE/INDEX/VIEW/...``, ``ALTER TABLE ... ADD ...``) runs
  where they are missing and is skipped where all exist: the up never removed them;
- an ``ALTER TABLE`` whose clauses are all of those kinds is cut down to the clauses that apply;
- ``... IF EXISTS``, ``... IF NOT EXISTS``, ``CREATE OR REPLACE`` and session ``SET`` run as written;
- anything else (data changes, ``MODIFY``, ``CHANGE``, ``RENAME``, ...) cannot be judged: the rollback stops
  before it and says exactly what remains and how to finish, unless everything the up made is already gone.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, List, Optional, Set, Tuple

from ..core.sql_script import Statement

_NAME = r"(?:`(?:[^`]|``)+`|[A-Za-z0-9_$]+)"
_QUALIFIED = rf"(?:{_NAME}\s*\.\s*)?({_NAME})"
_IF_EXISTS = re.compile(r"\bIF\s+(?:NOT\s+)?EXISTS\b", re.IGNORECASE)
_DROP_OBJECTS = re.compile(
    r"^\s*DROP\s+(?:TEMPORARY\s+)?(TABLE|TABLES|VIEW|PROCEDURE|FUNCTION|TRIGGER|EVENT)\s+(.+?)(?:\s+(?:RESTRICT|CASCADE))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_DROP_INDEX = re.compile(rf"^\s*DROP\s+INDEX\s+({_NAME})\s+ON\s+{_QUALIFIED}\s*$", re.IGNORECASE | re.DOTALL)
_CREATE_TABLE = re.compile(rf"^\s*CREATE\s+(?:TEMPORARY\s+)?TABLE\s+{_QUALIFIED}", re.IGNORECASE)
_CREATE_INDEX = re.compile(rf"^\s*CREATE\s+(?:UNIQUE\s+|FULLTEXT\s+|SPATIAL\s+)?INDEX\s+({_NAME})\s+(?:USING\s+\w+\s+)?ON\s+{_QUALIFIED}", re.IGNORECASE)
_CREATE_ROUTINE = re.compile(
    rf"^\s*CREATE\s+(?:DEFINER\s*=\s*\S+\s+)?(?:ALGORITHM\s*=\s*\w+\s+)?(?:SQL\s+SECURITY\s+\w+\s+)?(VIEW|PROCEDURE|FUNCTION|TRIGGER|EVENT)\s+{_QUALIFIED}",
    re.IGNORECASE,
)
_CREATE_OR_REPLACE = re.compile(r"^\s*CREATE\s+OR\s+REPLACE\b", re.IGNORECASE)
_ALTER_TABLE = re.compile(rf"^\s*ALTER\s+(?:ONLINE\s+|IGNORE\s+)?TABLE\s+{_QUALIFIED}\s+(.*)$", re.IGNORECASE | re.DOTALL)
_SESSION = re.compile(r"^\s*(SET|SELECT|DO)\b", re.IGNORECASE)
_DML = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|TRUNCATE|LOAD)\b", re.IGNORECASE)

_CLAUSE_DROP = [
    (re.compile(rf"^DROP\s+FOREIGN\s+KEY\s+({_NAME})$", re.IGNORECASE), "foreign key"),
    (re.compile(r"^DROP\s+PRIMARY\s+KEY$", re.IGNORECASE), "primary key"),
    (re.compile(rf"^DROP\s+(?:INDEX|KEY)\s+({_NAME})$", re.IGNORECASE), "index"),
    (re.compile(rf"^DROP\s+(?:COLUMN\s+)?({_NAME})$", re.IGNORECASE), "column"),
]
_CLAUSE_ADD = [
    (re.compile(rf"^ADD\s+(?:CONSTRAINT\s+({_NAME})\s+)?FOREIGN\s+KEY\b", re.IGNORECASE), "foreign key"),
    (re.compile(rf"^ADD\s+(?:CONSTRAINT\s+(?:{_NAME}\s+)?)?(?:UNIQUE|FULLTEXT|SPATIAL)\s+(?:INDEX\s+|KEY\s+)?({_NAME})\s*\(", re.IGNORECASE), "index"),
    (re.compile(rf"^ADD\s+(?:INDEX|KEY)\s+({_NAME})\s*\(", re.IGNORECASE), "index"),
    (re.compile(r"^ADD\s+(?:CONSTRAINT\s+\S+\s+)?PRIMARY\s+KEY\b", re.IGNORECASE), "primary key"),
    (re.compile(rf"^ADD\s+(?:COLUMN\s+)?({_NAME})\s+\w", re.IGNORECASE), "column"),
]
_NOT_A_COLUMN = {"INDEX", "KEY", "CONSTRAINT", "UNIQUE", "FULLTEXT", "SPATIAL", "PRIMARY", "FOREIGN", "PARTITION", "CHECK", "PERIOD", "SYSTEM"}


class Judgement:
    RUN = "run"
    SKIP = "skip"
    STOP = "stop"


@dataclass(frozen=True)
class Verdict:
    action: str
    reason: str = ""
    sql: Optional[str] = None  # the statement cut down to the clauses that apply


def _bare(name: str) -> str:
    name = name.strip()
    return name[1:-1].replace("``", "`") if name.startswith("`") else name


def judge(statement: Statement, existing: Set[str]) -> Verdict:
    """What a partial rollback does with one down statement, given the objects that exist now."""
    sql = statement.sql
    if _IF_EXISTS.search(sql.split("(", 1)[0]) and not _ALTER_TABLE.match(sql):
        return Verdict(Judgement.RUN)
    if _CREATE_OR_REPLACE.match(sql) or _SESSION.match(sql):
        return Verdict(Judgement.RUN)
    match = _DROP_OBJECTS.match(sql)
    if match:
        kind = match.group(1).lower().rstrip("s") if match.group(1).upper() == "TABLES" else match.group(1).lower()
        names = [_bare(n.split(".")[-1]) for n in _split_top(match.group(2))]
        kinds = ("table", "view") if kind == "table" else (kind,)
        present = [n for n in names if any(f"{k} {n}" in existing for k in kinds)]
        return _by_presence(sql, present, names, f"{kind} {', '.join(names)}", removing=True)
    match = _DROP_INDEX.match(sql)
    if match:
        target = f"index {_bare(match.group(2))}.{_bare(match.group(1))}"
        return _by_presence(sql, [target] if target in existing else [], [target], target, removing=True)
    match = _CREATE_TABLE.match(sql)
    if match:
        target = f"table {_bare(match.group(1))}"
        return _by_presence(sql, [target] if target in existing else [], [target], target, removing=False)
    match = _CREATE_INDEX.match(sql)
    if match:
        target = f"index {_bare(match.group(2))}.{_bare(match.group(1))}"
        return _by_presence(sql, [target] if target in existing else [], [target], target, removing=False)
    match = _CREATE_ROUTINE.match(sql)
    if match:
        target = f"{match.group(1).lower()} {_bare(match.group(2))}"
        return _by_presence(sql, [target] if target in existing else [], [target], target, removing=False)
    match = _ALTER_TABLE.match(sql)
    if match:
        return _judge_alter(_bare(match.group(1)), match.group(2), existing, sql)
    if _DML.match(sql):
        return Verdict(Judgement.STOP, "it changes data, which cannot be matched to what the up did")
    return Verdict(Judgement.STOP, f"'{statement.summary(60)}' is not a statement whose objects can be checked")


def _by_presence(sql: str, present: List[str], wanted: List[str], what: str, removing: bool) -> Verdict:
    if removing:
        if len(present) == len(wanted):
            return Verdict(Judgement.RUN)
        if not present:
            return Verdict(Judgement.SKIP, f"{what} does not exist (the up never created it)")
        return Verdict(Judgement.STOP, f"only some of {what} exist")
    if not present:
        return Verdict(Judgement.RUN)
    if len(present) == len(wanted):
        return Verdict(Judgement.SKIP, f"{what} already exists (the up never removed it)")
    return Verdict(Judgement.STOP, f"only some of {what} exist")


def _judge_alter(table: str, rest: str, existing: Set[str], sql: str) -> Verdict:
    if f"table {table}" not in existing:
        return Verdict(Judgement.SKIP, f"table {table} does not exist (the up never created it)")
    clauses = _split_top(rest)
    kept: List[str] = []
    skipped: List[str] = []
    for clause in clauses:
        flat = " ".join(clause.split())
        if re.search(r"\bIF\s+(?:NOT\s+)?EXISTS\b", flat, re.IGNORECASE):
            kept.append(clause)
            continue
        target, removing = _clause_target(table, flat)
        if target is None:
            return Verdict(Judgement.STOP, f"ALTER TABLE {table} clause '{flat[:60]}' cannot be checked against what exists")
        present = target in existing
        if present == removing:
            kept.append(clause)
        else:
            skipped.append(f"{target} {'does not exist' if removing else 'already exists'}")
    if not kept:
        return Verdict(Judgement.SKIP, "; ".join(skipped) + " (the up never got there)")
    if skipped:
        return Verdict(Judgement.RUN, "; ".join(skipped), sql=f"ALTER TABLE `{table}` " + ", ".join(c.strip() for c in kept))
    return Verdict(Judgement.RUN)


def _clause_target(table: str, clause: str) -> Tuple[Optional[str], bool]:
    for pattern, kind in _CLAUSE_DROP:
        match = pattern.match(clause)
        if match:
            if kind == "primary key":
                return f"index {table}.PRIMARY", True
            name = _bare(match.group(1))
            if kind == "column" and name.upper() in _NOT_A_COLUMN:
                return None, True
            return f"{kind} {table}.{name}", True
    for pattern, kind in _CLAUSE_ADD:
        match = pattern.match(clause)
        if match:
            if kind == "primary key":
                return f"index {table}.PRIMARY", False
            if match.group(1) is None:
                return None, False  # an unnamed key: its name is the server's choice
            name = _bare(match.group(1))
            if kind == "column" and name.upper() in _NOT_A_COLUMN:
                return None, False
            return f"{kind} {table}.{name}", False
    return None, False


def _split_top(text: str) -> List[str]:
    """Split at commas outside parentheses and quotes."""
    parts, depth, buf, quote = [], 0, [], ""
    for ch in text:
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = ""
            continue
        if ch in "'\"`":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(buf).strip())
            buf = []
            continue
        buf.append(ch)
    if "".join(buf).strip():
        parts.append("".join(buf).strip())
    return parts


def objects_of(conn: Any, database: str, leave_out: Set[str]) -> Set[str]:
    """Tables, views, columns, indexes, foreign keys, routines, triggers and events, as 'kind name' strings."""
    found: Set[str] = set()
    with conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (database,))
        found.update(f"{'view' if kind == 'VIEW' else 'table'} {name}" for name, kind in cur.fetchall())
        cur.execute("SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s", (database,))
        found.update(f"column {t}.{c}" for t, c in cur.fetchall())
        cur.execute("SELECT DISTINCT TABLE_NAME, INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s", (database,))
        found.update(f"index {t}.{i}" for t, i in cur.fetchall())
        cur.execute(
            "SELECT TABLE_NAME, CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = %s",
            (database,),
        )
        found.update(f"foreign key {t}.{c}" for t, c in cur.fetchall())
        cur.execute("SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s", (database,))
        found.update(f"{kind.lower()} {name}" for kind, name in cur.fetchall())
        cur.execute("SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s", (database,))
        found.update(f"trigger {name}" for (name,) in cur.fetchall())
        cur.execute("SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s", (database,))
        found.update(f"event {name}" for (name,) in cur.fetchall())
    return {o for o in found if o.split(" ")[-1].split(".")[0] not in leave_out}


def collapse(objects: Set[str]) -> List[str]:
    """Objects sorted, leaving out the columns, indexes and keys of a table that is itself listed."""
    tables = {o.split(" ", 1)[1] for o in objects if o.startswith(("table ", "view "))}
    return sorted(
        o for o in objects
        if o.startswith(("table ", "view ", "procedure ", "function ", "trigger ", "event "))
        or o.rsplit(" ", 1)[1].split(".")[0] not in tables
    )
