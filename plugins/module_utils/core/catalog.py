"""Read a database's structure from information_schema into the typed schema model (``schema_model``).

Tables come back as ``schema_model.Table`` (columns with their comments, indexes, foreign keys, CHECK
constraints, the table comment), whose dict form is the one of ``expectations/*.yaml``, so a live schema,
a reference file and a rehearsal can be compared with one function, and fingerprinted: two schemas are
identical exactly when their fingerprints are equal, and ``diff_tables`` says what differs when they are not.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from .bookkeeping import BOOKKEEPING_TABLES
from .connection import MySQLError, quote_identifier, quote_name, validate_identifier
from .dialect import ServerInfo, normalize_column_type, normalize_default, normalize_extra, normalize_fk_rule
from .server_errors import error_text
from .table_ddl import fk_index_candidates, parse_create_table
from .schema_model import CheckConstraint, Column, ForeignKey, Index, Schema, Table, Tables


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
    found: Dict[str, Dict[str, Any]] = {}  # table -> its Table's arguments, gathered query by query
    with conn.cursor() as cur:
        cur.execute(
            "SELECT TABLE_NAME, ENGINE, TABLE_COLLATION, TABLE_COMMENT FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE'",
            (database,),
        )
        for name, engine, collation, comment in cur.fetchall():
            if (wanted is None or name in wanted) and name not in excluded:
                found[name] = {"engine": engine, "collation": collation, "comment": comment or "", "columns": [], "indexes": {}, "fks": {}}
        if not found:
            return {}
        json_columns = _json_check_columns(cur, database, server)

        cur.execute(
            "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, COLUMN_COMMENT, COLLATION_NAME "
            "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
            "ORDER BY TABLE_NAME, ORDINAL_POSITION",
            (database,),
        )
        for table, column, column_type, nullable, default, extra, comment, collation in cur.fetchall():
            if table not in found:
                continue
            is_json = (table, column) in json_columns or column_type.lower() == "json"
            found[table]["columns"].append(Column(
                name=column,
                type="json" if is_json else normalize_column_type(column_type),
                nullable=nullable == "YES",
                default=normalize_default(default, extra or "", server),
                extra=normalize_extra(extra or "") or "",
                comment=comment or "",
                # Only a collation other than the table's is part of the column (a CONVERT TO changes both).
                collation=collation if collation and collation != found[table]["collation"] and not is_json else "",
            ))

        cur.execute(
            "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, INDEX_TYPE "
            "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s "
            "ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
            (database,),
        )
        for table, index, non_unique, column, sub_part, index_type in cur.fetchall():
            if table not in found:
                continue
            indexes = found[table]["indexes"]
            if index not in indexes:
                kind = index_type.upper() if index_type and index_type.upper() != "BTREE" else ""
                indexes[index] = {"unique": int(non_unique) == 0, "parts": [], "type": kind}
            indexes[index]["parts"].append(f"{column}({sub_part})" if sub_part else column)

        # Each information_schema table gets the database as a constant: through a join condition alone,
        # MariaDB opens every table of every database to fill it (views of the sys schema included).
        cur.execute(
            "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, "
            "k.REFERENCED_COLUMN_NAME, r.DELETE_RULE, r.UPDATE_RULE "
            "FROM information_schema.KEY_COLUMN_USAGE k "
            "JOIN information_schema.REFERENTIAL_CONSTRAINTS r "
            "  ON r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME "
            "WHERE k.TABLE_SCHEMA = %s AND k.CONSTRAINT_SCHEMA = %s AND r.CONSTRAINT_SCHEMA = %s "
            "AND k.REFERENCED_TABLE_NAME IS NOT NULL "
            "ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
            (database, database, database),
        )
        for table, name, column, ref_table, ref_column, on_delete, on_update in cur.fetchall():
            if table not in found:
                continue
            fks = found[table]["fks"]
            if name not in fks:
                fks[name] = {
                    "references": ref_table, "on_delete": normalize_fk_rule(on_delete), "on_update": normalize_fk_rule(on_update),
                    "columns": [], "ref_columns": [],
                }
            fks[name]["columns"].append(column)
            fks[name]["ref_columns"].append(ref_column)

        checks = _other_checks(cur, database, server, json_columns)

    tables: Tables = {}
    for name, spec in found.items():
        table_indexes = [Index(index, i["unique"], tuple(i["parts"]), i["type"]) for index, i in spec["indexes"].items()]
        table_fks = [
            ForeignKey(key, tuple(f["columns"]), f["references"], tuple(f["ref_columns"]), f["on_delete"], f["on_update"])
            for key, f in spec["fks"].items()
        ]
        tables[name] = Table(
            name=name,
            engine=spec["engine"],
            collation=spec["collation"],
            columns=tuple(spec["columns"]),
            indexes=tuple(sorted(table_indexes, key=lambda i: i.name.lower())),
            foreign_keys=tuple(sorted(table_fks, key=lambda f: f.name.lower())),
            checks=tuple(checks.get(name, ())),
            comment=spec["comment"],
        )
    return tables


def read_schema(conn: Any, database: str, server: ServerInfo, exclude: Iterable[str] = BOOKKEEPING_TABLES) -> Schema:
    """The application schema of ``database``: its tables (but ``exclude``), views, triggers and routines."""
    tables = read_tables(conn, database, server, exclude=exclude)
    objects = read_routines(conn, database)
    return Schema(tables=tables, views=objects["views"], triggers=objects["triggers"], routines=objects["routines"], events=objects["events"])


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


def _other_checks(cur: Any, database: str, server: ServerInfo, json_columns: set) -> Dict[str, List[CheckConstraint]]:
    if not server.supports_check_constraints:
        return {}
    cur.execute(
        "SELECT tc.TABLE_NAME, cc.CONSTRAINT_NAME, cc.CHECK_CLAUSE "
        "FROM information_schema.CHECK_CONSTRAINTS cc "
        "JOIN information_schema.TABLE_CONSTRAINTS tc ON tc.CONSTRAINT_SCHEMA = cc.CONSTRAINT_SCHEMA "
        " AND tc.CONSTRAINT_NAME = cc.CONSTRAINT_NAME AND tc.CONSTRAINT_TYPE = 'CHECK' "
        "WHERE cc.CONSTRAINT_SCHEMA = %s AND tc.TABLE_SCHEMA = %s "  # constants for both: see read_tables
        "ORDER BY tc.TABLE_NAME, cc.CONSTRAINT_NAME",
        (database, database),
    )
    checks: Dict[str, List[CheckConstraint]] = {}
    seen = set()
    for table, name, clause in cur.fetchall():
        if (table, name) in seen:
            continue
        seen.add((table, name))
        if (table, name) in json_columns and server.json_check_column(clause) == name:
            continue
        checks.setdefault(table, []).append(CheckConstraint(name, " ".join(clause.split())))
    return checks


def read_routines(conn: Any, database: str) -> Dict[str, Dict[str, str]]:
    """Views, triggers, stored routines and events by name, with their definitions."""
    validate_identifier(database, "database name")
    objects: Dict[str, Dict[str, str]] = {"views": {}, "triggers": {}, "routines": {}, "events": {}}
    with conn.cursor() as cur:
        cur.execute(
            "SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s",
            (database,),
        )
        # The server qualifies every table a view reads with the view's own database: taken out, so the same
        # view reads the same in production and in a copy under another name (the gate's, a restore's).
        own = f"`{database}`."
        objects["views"] = {name: " ".join((body or "").replace(own, "").split()) for name, body in cur.fetchall()}
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
        cur.execute(
            "SELECT EVENT_NAME, EVENT_TYPE, EXECUTE_AT, INTERVAL_VALUE, INTERVAL_FIELD, ON_COMPLETION, EVENT_DEFINITION "
            "FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s",
            (database,),
        )
        objects["events"] = {
            name: f"{kind} {at or ''}{value or ''} {unit or ''} {completion}: {' '.join((body or '').split())}"
            for name, kind, at, value, unit, completion, body in cur.fetchall()
        }
    return objects


PROBE_TABLE = "schemagate_fk_probe"


def generated_fk_indexes(
    conn: Any, database: str, server: ServerInfo, candidates: Mapping[str, Mapping[str, Sequence[str]]]
) -> Tuple[Optional[Dict[str, List[str]]], str]:
    """Which candidate indexes the server generated for a foreign key, read without writing to ``database``.

    ``candidates`` maps a table to {index: its columns}. Each table is copied as a session-private, empty
    ``CREATE TEMPORARY TABLE ... LIKE`` (which keeps the server's generated mark, but no foreign key), an index
    on each candidate's columns is added to the copy, and the candidates the server dropped were the generated
    ones. Returns (table -> generated index names, how it was decided); (None, why) when the probe cannot run:
    the account lacks CREATE TEMPORARY TABLES, the session is read-only, or the binary log would record the
    temporary table (STATEMENT/MIXED format): the caller then judges from the text (``table_ddl.generated_by_rule``).
    """
    if not server.generated_key_probe:
        return None, f"{server.label} cannot tell generated indexes apart"
    found: Dict[str, List[str]] = {}
    with conn.cursor() as cur:
        cur.execute("SELECT @@log_bin, @@binlog_format")
        log_bin, binlog_format = cur.fetchone()
        if server.binlog_records_temporary_tables(log_bin, binlog_format):
            return None, f"not probed: the binary log ({binlog_format}) would record a temporary table"
        probe = f"{quote_identifier(database)}.{PROBE_TABLE}"
        for table, indexes in sorted(candidates.items()):
            if not indexes:
                continue
            try:
                cur.execute(f"CREATE TEMPORARY TABLE {probe} LIKE {quote_identifier(database)}.{quote_name(table)}")
            except MySQLError as exc:
                return None, f"not probed: {error_text(exc)}"
            try:
                covering = ", ".join(
                    f"ADD INDEX {quote_name(f'schemagate_probe_{n}')} ({', '.join(quote_name(c) for c in columns)})"
                    for n, columns in enumerate(indexes.values())
                )
                cur.execute(f"ALTER TABLE {probe} {covering}")
                cur.execute(f"SHOW INDEX FROM {probe}")
                left = {row[2] for row in cur.fetchall()}
            except MySQLError as exc:
                return None, f"not probed: {error_text(exc)}"
            finally:
                cur.execute(f"DROP TEMPORARY TABLE IF EXISTS {probe}")
            generated = sorted(index for index in indexes if index not in left)
            if generated:
                found[table] = generated
    return found, "probed on a temporary copy of each table"


def find_generated_fk_indexes(
    conn: Any, database: str, server: ServerInfo, tables: Iterable[str]
) -> Tuple[Optional[Dict[str, List[str]]], str]:
    """``generated_fk_indexes`` for ``tables`` of ``database``, with the candidates read from SHOW CREATE TABLE."""
    candidates: Dict[str, Dict[str, Sequence[str]]] = {}
    with conn.cursor() as cur:
        for table in tables:
            cur.execute(f"SHOW CREATE TABLE {quote_identifier(database)}.{quote_name(table)}")
            parsed = parse_create_table(cur.fetchone()[1])
            if parsed is None:
                continue
            found = {index: parsed.key(index).parts for index in fk_index_candidates(parsed).values()}  # type: ignore[union-attr]
            if found:
                candidates[table] = found  # type: ignore[assignment]
    if not candidates:
        return {}, "no index could be one the server generated"
    return generated_fk_indexes(conn, database, server, candidates)


def portable_schema(schema: Schema, database: str) -> Schema:
    """The schema with ``database``'s own name taken out of view/trigger/routine bodies (information_schema
    qualifies a view's tables with it), so copies under other names compare equal."""
    own = f"`{database}`."
    return Schema(
        tables=schema.tables,
        **{kind: {name: body.replace(own, "") for name, body in schema.objects(kind).items()} for kind in Schema.OBJECT_KINDS},
    )


def schema_fingerprint(
    conn: Any, database: str, server: ServerInfo, exclude: Iterable[str] = BOOKKEEPING_TABLES
) -> Dict[str, Any]:
    """The application schema of ``database`` as modules return it: its fingerprint, its tables and their structure (dict form)."""
    return describe_schema(read_schema(conn, database, server, exclude))


def describe_schema(schema: Schema) -> Dict[str, Any]:
    """The dict view of a schema that modules return and files keep: fingerprint, table names, structure."""
    return {"fingerprint": fingerprint(schema), "tables": sorted(schema.tables), "structure": schema.to_dict()}


def table_checksums(conn: Any, database: str, tables: Iterable[str]) -> Dict[str, Any]:
    """CHECKSUM TABLE of each table: equal values, equal rows."""
    names = sorted(tables)
    if not names:
        return {}
    quoted_db = quote_identifier(database)
    with conn.cursor() as cur:
        cur.execute("CHECKSUM TABLE " + ", ".join(f"{quoted_db}.{quote_identifier(t)}" for t in names))
        return {row[0].split(".", 1)[1]: row[1] for row in cur.fetchall()}


def fingerprint(structure: Union[Schema, Mapping[str, Any]]) -> str:
    """sha256 of the canonical JSON of a structure (a Schema, tables by name, or their dict form):
    equal fingerprints, identical schemas. A model object counts as its dict form, so both give one value."""
    canonical = json.dumps(structure, sort_keys=True, separators=(",", ":"), default=_dict_form)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _dict_form(value: Any) -> Any:
    if isinstance(value, (Schema, Table, Column, Index, ForeignKey, CheckConstraint)):
        return value.to_dict()
    return str(value)


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
    for attr, want, got in (("engine", expected.engine, actual.engine), ("collation", expected.collation, actual.collation)):
        if want != got:
            lines.append(f"{attr} is {got!r}, expected {want!r}")
    if expected.comment != actual.comment:
        lines.append(f"comment is {_show(actual.comment or None)}, expected {_show(expected.comment or None)}")

    exp_cols = list(expected.column_names)
    act_cols = list(actual.column_names)
    lines.extend(_named_diff("column", expected.columns, actual.columns))
    common = [c for c in exp_cols if c in act_cols]
    if [c for c in act_cols if c in common] != common:
        lines.append(f"column order is {act_cols}, expected {exp_cols}")
    lines.extend(_named_diff("index", expected.indexes, actual.indexes))
    lines.extend(_named_diff("foreign key", expected.foreign_keys, actual.foreign_keys))
    lines.extend(_named_diff("check", expected.checks, actual.checks))
    return lines


def _named_diff(kind: str, expected: Iterable[Any], actual: Iterable[Any]) -> List[str]:
    """Items missing, unexpected, or differing in an attribute; attributes compared in their dict form
    (an attribute left out there, such as an empty comment, reads as none)."""
    exp = {item.name: item.to_dict() for item in expected}
    act = {item.name: item.to_dict() for item in actual}
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
