"""Read a database's structure from information_schema into plain data.

The shape is the one of ``expectations/*.yaml`` (tables -> columns, indexes,
foreign keys) so a live schema, a reference file and a rehearsal can be compared
with one function, and fingerprinted: two schemas are identical exactly when
their fingerprints are equal, and ``diff_tables`` says what differs when they
are not.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Dict, Iterable, List, Mapping, Optional

from .bookkeeping import BOOKKEEPING_TABLES
from .connection import quote_identifier, validate_identifier
from .dialect import ServerInfo, normalize_column_type, normalize_default, normalize_extra, normalize_fk_rule

Table = Dict[str, Any]
Tables = Dict[str, Table]


def read_tables(
    conn: Any,
    database: str,
    server: ServerInfo,
    only: Optional[Iterable[str]] = None,
    exclude: Iterable[str] = (),
) -> Tables:
    """Structure of the base tables of ``database``: only the named ones, or all but ``exclude``."""
    validate_identifier(database, "database name")
    wanted = set(only) if only is not None else None
    excluded = set(exclude)
    tables: Tables = {}
    with conn.cursor() as cur:
        cur.execute(
            "SELECT TABLE_NAME, ENGINE, TABLE_COLLATION FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE'",
            (database,),
        )
        for name, engine, collation in cur.fetchall():
            if (wanted is None or name in wanted) and name not in excluded:
                tables[name] = {
                    "engine": engine,
                    "collation": collation,
                    "columns": [],
                    "indexes": [],
                    "foreign_keys": [],
                }
        if not tables:
            return tables
        json_columns = _json_check_columns(cur, database, server)

        cur.execute(
            "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA "
            "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
            "ORDER BY TABLE_NAME, ORDINAL_POSITION",
            (database,),
        )
        for table, column, column_type, nullable, default, extra in cur.fetchall():
            if table not in tables:
                continue
            is_json = (table, column) in json_columns or column_type.lower() == "json"
            entry: Dict[str, Any] = {
                "name": column,
                "type": "json" if is_json else normalize_column_type(column_type),
                "nullable": nullable == "YES",
            }
            value = normalize_default(default, extra or "", server)
            if value is not None:
                entry["default"] = value
            extra_value = normalize_extra(extra or "")
            if extra_value:
                entry["extra"] = extra_value
            tables[table]["columns"].append(entry)

        cur.execute(
            "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, INDEX_TYPE "
            "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s "
            "ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
            (database,),
        )
        indexes: Dict[tuple, Dict[str, Any]] = {}
        for table, index, non_unique, column, sub_part, index_type in cur.fetchall():
            if table not in tables:
                continue
            key = (table, index)
            if key not in indexes:
                indexes[key] = {"name": index, "unique": int(non_unique) == 0, "columns": []}
                if index_type and index_type.upper() != "BTREE":
                    indexes[key]["type"] = index_type.upper()
                tables[table]["indexes"].append(indexes[key])
            indexes[key]["columns"].append(f"{column}({sub_part})" if sub_part else column)

        cur.execute(
            "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, "
            "k.REFERENCED_COLUMN_NAME, r.DELETE_RULE, r.UPDATE_RULE "
            "FROM information_schema.KEY_COLUMN_USAGE k "
            "JOIN information_schema.REFERENTIAL_CONSTRAINTS r "
            "  ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME "
            " AND r.TABLE_NAME = k.TABLE_NAME "
            "WHERE k.TABLE_SCHEMA = %s AND k.REFERENCED_TABLE_NAME IS NOT NULL "
            "ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
            (database,),
        )
        fks: Dict[tuple, Dict[str, Any]] = {}
        for table, name, column, ref_table, ref_column, on_delete, on_update in cur.fetchall():
            if table not in tables:
                continue
            key = (table, name)
            if key not in fks:
                fks[key] = {
                    "name": name,
                    "columns": [],
                    "references": ref_table,
                    "ref_columns": [],
                    "on_delete": normalize_fk_rule(on_delete),
                    "on_update": normalize_fk_rule(on_update),
                }
                tables[table]["foreign_keys"].append(fks[key])
            fks[key]["columns"].append(column)
            fks[key]["ref_columns"].append(ref_column)

        for table, checks in _other_checks(cur, database, server, json_columns).items():
            if table in tables:
                tables[table]["checks"] = checks

    for table in tables.values():
        table["indexes"].sort(key=lambda i: i["name"].lower())
        table["foreign_keys"].sort(key=lambda f: f["name"].lower())
    return tables


def _json_check_columns(cur: Any, database: str, server: ServerInfo) -> set:
    if server.has_native_json:
        return set()
    cur.execute(
        "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS "
        "WHERE CONSTRAINT_SCHEMA = %s",
        (database,),
    )
    found = set()
    for table, name, clause in cur.fetchall():
        column = server.json_check_column(clause)
        if column is not None and column == name:
            found.add((table, column))
    return found


def _other_checks(cur: Any, database: str, server: ServerInfo, json_columns: set) -> Dict[str, List[Dict[str, str]]]:
    if not server.supports_check_constraints:
        return {}
    cur.execute(
        "SELECT tc.TABLE_NAME, cc.CONSTRAINT_NAME, cc.CHECK_CLAUSE "
        "FROM information_schema.CHECK_CONSTRAINTS cc "
        "JOIN information_schema.TABLE_CONSTRAINTS tc ON tc.CONSTRAINT_SCHEMA = cc.CONSTRAINT_SCHEMA "
        " AND tc.CONSTRAINT_NAME = cc.CONSTRAINT_NAME AND tc.CONSTRAINT_TYPE = 'CHECK' "
        "WHERE cc.CONSTRAINT_SCHEMA = %s ORDER BY tc.TABLE_NAME, cc.CONSTRAINT_NAME",
        (database,),
    )
    checks: Dict[str, List[Dict[str, str]]] = {}
    seen = set()
    for table, name, clause in cur.fetchall():
        if (table, name) in seen:
            continue
        seen.add((table, name))
        if (table, name) in json_columns and server.json_check_column(clause) == name:
            continue
        checks.setdefault(table, []).append({"name": name, "clause": " ".join(clause.split())})
    return checks


def read_routines(conn: Any, database: str) -> Dict[str, Dict[str, str]]:
    """Views, triggers and stored routines by name, with their definitions."""
    validate_identifier(database, "database name")
    objects: Dict[str, Dict[str, str]] = {"views": {}, "triggers": {}, "routines": {}}
    with conn.cursor() as cur:
        cur.execute(
            "SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s",
            (database,),
        )
        objects["views"] = {name: " ".join((body or "").split()) for name, body in cur.fetchall()}
        cur.execute(
            "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_STATEMENT "
            "FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s",
            (database,),
        )
        objects["triggers"] = {
            name: f"{timing} {event} ON {table}: {' '.join((body or '').split())}"
            for name, table, timing, event, body in cur.fetchall()
        }
        cur.execute(
            "SELECT ROUTINE_NAME, ROUTINE_TYPE, ROUTINE_DEFINITION FROM information_schema.ROUTINES "
            "WHERE ROUTINE_SCHEMA = %s",
            (database,),
        )
        objects["routines"] = {
            f"{kind.lower()} {name}": " ".join((body or "").split()) for name, kind, body in cur.fetchall()
        }
    return objects


def schema_fingerprint(
    conn: Any, database: str, server: ServerInfo, exclude: Iterable[str] = BOOKKEEPING_TABLES
) -> Dict[str, Any]:
    """The application schema of ``database``: its fingerprint, its tables and their structure."""
    tables = read_tables(conn, database, server, exclude=exclude)
    routines = read_routines(conn, database)
    structure = {"tables": tables, **routines}
    return {"fingerprint": fingerprint(structure), "tables": sorted(tables), "structure": structure}


def table_checksums(conn: Any, database: str, tables: Iterable[str]) -> Dict[str, Any]:
    """CHECKSUM TABLE of each table: equal values, equal rows."""
    names = sorted(tables)
    if not names:
        return {}
    quoted_db = quote_identifier(database)
    with conn.cursor() as cur:
        cur.execute("CHECKSUM TABLE " + ", ".join(f"{quoted_db}.{quote_identifier(t)}" for t in names))
        return {row[0].split(".", 1)[1]: row[1] for row in cur.fetchall()}


def fingerprint(structure: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of a structure: equal fingerprints, identical schemas."""
    canonical = json.dumps(structure, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def diff_tables(expected: Mapping[str, Table], actual: Mapping[str, Table]) -> List[str]:
    """Human-readable differences, one line each; empty when identical."""
    lines: List[str] = []
    for name in sorted(set(expected) - set(actual)):
        lines.append(f"table {name}: missing")
    for name in sorted(set(actual) - set(expected)):
        lines.append(f"table {name}: unexpected (not in the expected schema)")
    for name in sorted(set(expected) & set(actual)):
        lines.extend(f"table {name}: {line}" for line in diff_table(expected[name], actual[name]))
    return lines


def diff_table(expected: Table, actual: Table) -> List[str]:
    lines: List[str] = []
    for attr in ("engine", "collation"):
        if attr in expected and expected.get(attr) != actual.get(attr):
            lines.append(f"{attr} is {actual.get(attr)!r}, expected {expected.get(attr)!r}")

    exp_cols = [c["name"] for c in expected.get("columns", [])]
    act_cols = [c["name"] for c in actual.get("columns", [])]
    lines.extend(_named_diff("column", expected.get("columns", []), actual.get("columns", [])))
    common = [c for c in exp_cols if c in act_cols]
    if [c for c in act_cols if c in common] != common:
        lines.append(f"column order is {act_cols}, expected {exp_cols}")
    lines.extend(_named_diff("index", expected.get("indexes", []), actual.get("indexes", [])))
    lines.extend(_named_diff("foreign key", expected.get("foreign_keys", []), actual.get("foreign_keys", [])))
    lines.extend(_named_diff("check", expected.get("checks", []), actual.get("checks", [])))
    return lines


def _named_diff(kind: str, expected: List[Dict[str, Any]], actual: List[Dict[str, Any]]) -> List[str]:
    exp = {item["name"]: item for item in expected}
    act = {item["name"]: item for item in actual}
    lines = [f"{kind} {name}: missing" for name in exp if name not in act]
    lines += [f"{kind} {name}: unexpected" for name in act if name not in exp]
    for name in exp:
        if name not in act:
            continue
        for attr in sorted(set(exp[name]) | set(act[name])):
            if attr == "name":
                continue
            want, got = exp[name].get(attr), act[name].get(attr)
            if want != got and not _both_falsy(want, got):
                lines.append(f"{kind} {name}: {attr} is {_show(got)}, expected {_show(want)}")
    return lines


def _both_falsy(a: Any, b: Any) -> bool:
    return a in (None, False) and b in (None, False)


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return "(" + ", ".join(map(str, value)) + ")"
    return repr(value) if isinstance(value, str) else str(value)
