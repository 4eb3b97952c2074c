"""Copy production's schema into a scratch database the gate can break freely: a faithful copy.

The structure is read on a *source* session (production, only read) and applied through a *target* session,
which may be another server (the rehearsal server); the two databases are parameters, and no statement names
both (no ``CREATE TABLE ... LIKE`` or ``INSERT ... SELECT`` across databases). What travels:

- every base table with its columns, keys, CHECKs and table options (engine, row format, character set and
  collation, comment; the AUTO_INCREMENT counter of the bookkeeping tables whose rows are copied, not of the
  others, which the seeder fills from 1). The indexes InnoDB generated for a foreign key stay *generated*: the
  table is created without them and the foreign keys are added afterwards, so the server makes them again and
  drops them again when a migration adds a covering index, as production's does (``core/table_ddl.py``);
- stored procedures and functions, then views (in dependency order), then triggers (in their firing order),
  then events, created **disabled**. Each is created with the sql_mode and character set it was defined under.
  Their DEFINER is dropped, so the account that makes the copy becomes the definer; SQL SECURITY stays as
  production's (a DEFINER view then runs with the copying account's rights, which cover the copy);
- the rows of the migration bookkeeping tables, so the copy sits at production's migration state.

Afterwards the copy's schema fingerprint is compared with production's (view bodies without their database
name) and the table options with production's: an unfaithful copy fails here, not later as a false finding.

A scratch database carries a marker table naming its run; schemagate only ever drops a database whose marker
it wrote, and never one whose name is the source's.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..core.bookkeeping import BOOKKEEPING_TABLES, MARKER_TABLE
from ..core.catalog import diff_tables, fingerprint, generated_fk_indexes, portable_schema, read_schema
from ..core.connection import MySQLError, error_text, quote_identifier, quote_name
from ..core.dialect import ServerInfo, detect_server
from ..core.errors import SchemagateError
from ..core.scratch import create_scratch
from ..core.server_errors import ER_NO_SUCH_TABLE, error_code
from ..core.table_ddl import fk_index_candidates, generated_by_rule, parse_create_table, plan_table

_DEFINER = re.compile(r"\s+DEFINER\s*=\s*(?:`(?:[^`]|``)*`@`(?:[^`]|``)*`|CURRENT_USER(?:\(\))?)", re.IGNORECASE)
# SHOW CREATE EVENT: '... ON COMPLETION [NOT] PRESERVE ENABLE|DISABLE|DISABLE ON SLAVE [COMMENT '...'] DO ...'
_EVENT_STATUS = re.compile(r"(\bON COMPLETION (?:NOT )?PRESERVE) (?:ENABLE|DISABLE ON (?:SLAVE|REPLICA)|DISABLE)\b")
_OPTION_COLUMNS = ("ENGINE", "ROW_FORMAT", "TABLE_COLLATION", "TABLE_COMMENT", "CREATE_OPTIONS")
_VIEW_MISSING = (ER_NO_SUCH_TABLE, 1356)  # a table or view it uses is not there (yet); 1356: references invalid objects


@dataclass
class CloneReport:
    source: str
    target: str
    run_id: str
    tables: List[str] = field(default_factory=list)
    views: List[str] = field(default_factory=list)
    triggers: List[str] = field(default_factory=list)
    routines: List[str] = field(default_factory=list)
    events: List[str] = field(default_factory=list)
    copied_rows: Dict[str, int] = field(default_factory=dict)
    generated_fk_indexes: Dict[str, List[str]] = field(default_factory=dict)  # table -> indexes left to the server
    generated_rule: str = ""  # how they were told apart from explicit ones
    kept_explicit: Dict[str, List[str]] = field(default_factory=dict)
    fingerprint: str = ""
    seconds: float = 0.0

    def as_dict(self) -> Dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "run_id": self.run_id,
            "tables": self.tables,
            "views": self.views,
            "triggers": self.triggers,
            "routines": self.routines,
            "events": self.events,
            "copied_rows": self.copied_rows,
            "generated_fk_indexes": self.generated_fk_indexes,
            "generated_rule": self.generated_rule,
            "kept_explicit": self.kept_explicit,
            "fingerprint": self.fingerprint,
            "seconds": round(self.seconds, 3),
        }


def clone_schema(  # pylint: disable=too-many-positional-arguments
    source_conn: Any,
    target_conn: Any,
    server: ServerInfo,
    source: str,
    target: str,
    run_id: str,
    copy_rows_of: Sequence[str] = ("migrations", "schemagate_migrations"),
    other_server: bool = False,
) -> CloneReport:
    """Create ``target`` through ``target_conn`` as a faithful copy of ``source``, read through ``source_conn``.

    ``source_conn`` (production, ``server``) is only read. With ``other_server`` the two connections reach
    different servers (the rehearsal server), and ``target`` may bear ``source``'s name.
    """
    started = time.monotonic()
    report = CloneReport(source, target, run_id)
    create_scratch(target_conn, source, target, run_id, source_conn if other_server else None)
    try:
        _copy(source_conn, server, target_conn, source, target, report, copy_rows_of)
    except MySQLError as exc:
        raise SchemagateError(f"Cloning {source!r} into {target!r} failed: {error_text(exc)}") from None
    _check_faithful(source_conn, server, target_conn, source, target, report)
    report.seconds = time.monotonic() - started
    return report


def _copy(
    conn: Any, server: ServerInfo, destination: Any, source: str, target: str, report: CloneReport, copy_rows_of: Sequence[str]
) -> None:
    src = quote_identifier(source)
    with conn.cursor() as read, destination.cursor() as write:
        read.execute(
            "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME",
            (source,),
        )
        objects = [(str(name), str(kind)) for name, kind in read.fetchall()]
        creates: Dict[str, str] = {}
        for name, kind in objects:
            if kind == "BASE TABLE" and name != MARKER_TABLE:
                read.execute(f"SHOW CREATE TABLE {src}.{quote_name(name)}")
                creates[name] = read.fetchone()[1]
        plans = _plan_tables(conn, server, source, creates, set(copy_rows_of), report)
        write.execute(f"USE {quote_identifier(target)}")
        # Tables reference each other in any order: create them all, then add the foreign keys.
        write.execute("SET SESSION foreign_key_checks = 0")
        try:
            for name, (create, _statements) in plans.items():
                write.execute(create)
                report.tables.append(name)
            for name, (_create, statements) in plans.items():
                for statement in statements:
                    write.execute(statement)
        finally:
            write.execute("SET SESSION foreign_key_checks = 1")
        _match_row_formats(read, write, source, target)
        for table in copy_rows_of:
            if table in report.tables:
                report.copied_rows[table] = _copy_rows(read, write, source, table)
        _copy_routines(read, write, source, report)
        _copy_views(read, write, source, target, [name for name, kind in objects if kind == "VIEW"], report)
        _copy_triggers(read, write, source, report)
        _copy_events(read, write, source, report)


def _plan_tables(
    conn: Any, server: ServerInfo, source: str, creates: Dict[str, str], keep_counter: set, report: CloneReport
) -> Dict[str, Tuple[str, List[str]]]:
    parsed = {name: parse_create_table(sql) for name, sql in creates.items()}
    candidates = {
        name: {index: table.key(index).parts for index in fk_index_candidates(table).values()}  # type: ignore[union-attr]
        for name, table in parsed.items() if table is not None and fk_index_candidates(table)
    }
    probed, report.generated_rule = generated_fk_indexes(conn, source, server, candidates) if candidates else ({}, "no candidates")
    if probed is None:
        report.generated_rule += "; judged from the names (an index that has no covering sibling and is named as its foreign key)"
    plans: Dict[str, Tuple[str, List[str]]] = {}
    for name, sql in creates.items():
        table = parsed[name]
        if table is None:  # a layout this copy does not read: as the server wrote it (generated indexes become explicit)
            plans[name] = (sql if name in keep_counter else re.sub(r"\s+AUTO_INCREMENT=\d+", "", sql), [])
            continue
        if probed is None:
            generated = generated_by_rule(table)
        else:
            indexes = set(probed.get(name, ()))
            generated = {fk: index for fk, index in fk_index_candidates(table).items() if index in indexes}
        plan = plan_table(table, generated, keep_auto_increment=name in keep_counter)
        if plan.generated:
            report.generated_fk_indexes[name] = sorted(plan.generated.values())
        if plan.kept_explicit:
            report.kept_explicit[name] = sorted(plan.kept_explicit.values())
        plans[name] = (plan.create, plan.foreign_key_statements)
    return plans


def _match_row_formats(read: Any, write: Any, source: str, target: str) -> None:
    """A table whose row format production's server chose by default gets the same one here, whatever this
    server's innodb_default_row_format."""
    query = "SELECT TABLE_NAME, ROW_FORMAT FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE'"
    read.execute(query, (source,))
    wanted = dict(read.fetchall())
    write.execute(query, (target,))
    for name, fmt in write.fetchall():
        if name in wanted and wanted[name] and fmt and str(wanted[name]).upper() != str(fmt).upper():
            write.execute(f"ALTER TABLE {quote_name(name)} ROW_FORMAT={str(wanted[name]).upper()}")


def _copy_rows(read: Any, write: Any, source: str, table: str) -> int:
    read.execute(f"SELECT * FROM {quote_identifier(source)}.{quote_name(table)}")
    columns = ", ".join(quote_name(column[0]) for column in read.description)
    rows = read.fetchall()
    if rows:
        placeholders = ", ".join(["%s"] * len(read.description))
        write.executemany(f"INSERT INTO {quote_name(table)} ({columns}) VALUES ({placeholders})", rows)
    return len(rows)


def _in_mode(write: Any, statement: str, sql_mode: Optional[str], charset: str, collation: str) -> None:
    """Run a CREATE under the sql_mode (None: the session's) and client character set its object was defined with."""
    write.execute("SELECT @@SESSION.sql_mode, @@SESSION.character_set_client, @@SESSION.collation_connection")
    saved = write.fetchone()
    mode = saved[0] if sql_mode is None else sql_mode
    write.execute("SET SESSION sql_mode = %s, character_set_client = %s, collation_connection = %s", (mode, charset, collation))
    try:
        write.execute(statement)
    finally:
        write.execute("SET SESSION sql_mode = %s, character_set_client = %s, collation_connection = %s", saved)


def without_definer(statement: str) -> str:
    """The copying account becomes the definer (creating objects for another needs SUPER or SET USER)."""
    return _DEFINER.sub("", statement, count=1)


def _copy_routines(read: Any, write: Any, source: str, report: CloneReport) -> None:
    read.execute(
        "SELECT ROUTINE_NAME, ROUTINE_TYPE FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s ORDER BY ROUTINE_TYPE, ROUTINE_NAME",
        (source,),
    )
    for name, kind in read.fetchall():
        read.execute(f"SHOW CREATE {kind} {quote_identifier(source)}.{quote_name(name)}")
        _name, sql_mode, body, charset, collation = read.fetchone()[:5]
        if body is None:
            raise SchemagateError(f"Cannot read the body of {kind.lower()} {name}: grant SHOW CREATE ROUTINE (or SELECT on mysql.proc).")
        _in_mode(write, without_definer(body), sql_mode, charset, collation)
        report.routines.append(f"{kind.lower()} {name}")


def _copy_views(read: Any, write: Any, source: str, target: str, views: List[str], report: CloneReport) -> None:
    """Views in dependency order: one that uses a view not made yet is retried after the others."""
    definitions = {}
    for name in views:
        read.execute(f"SHOW CREATE VIEW {quote_identifier(source)}.{quote_name(name)}")
        _name, body, charset, collation = read.fetchone()[:4]
        if source != target:  # the server qualifies every table of the view with its database
            body = body.replace(f"`{source}`.", f"`{target}`.")
        definitions[name] = (without_definer(body), charset, collation)
    pending = list(views)
    while pending:
        failed: List[Tuple[str, str]] = []
        for name in pending:
            body, charset, collation = definitions[name]
            try:
                _in_mode(write, body, None, charset, collation)
                report.views.append(name)
            except MySQLError as exc:
                if error_code(exc) not in _VIEW_MISSING:
                    raise
                failed.append((name, error_text(exc)))
        if len(failed) == len(pending):
            raise SchemagateError(
                f"Could not copy views {', '.join(name for name, _reason in failed)} of {source!r}: they use objects outside it "
                f"({failed[0][1]})"
            )
        pending = [name for name, _reason in failed]


def _copy_triggers(read: Any, write: Any, source: str, report: CloneReport) -> None:
    read.execute(
        "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s "
        "ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER",
        (source,),
    )
    for (name,) in read.fetchall():
        read.execute(f"SHOW CREATE TRIGGER {quote_identifier(source)}.{quote_name(name)}")
        _name, sql_mode, body, charset, collation = read.fetchone()[:5]
        _in_mode(write, without_definer(body), sql_mode, charset, collation)
        report.triggers.append(name)


def _copy_events(read: Any, write: Any, source: str, report: CloneReport) -> None:
    read.execute("SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s ORDER BY EVENT_NAME", (source,))
    for (name,) in read.fetchall():
        read.execute(f"SHOW CREATE EVENT {quote_identifier(source)}.{quote_name(name)}")
        _name, sql_mode, time_zone, body, charset, collation = read.fetchone()[:6]
        disabled = _EVENT_STATUS.sub(r"\1 DISABLE", without_definer(body), count=1)
        write.execute("SELECT @@SESSION.time_zone")
        (saved_zone,) = write.fetchone()
        write.execute("SET SESSION time_zone = %s", (time_zone,))
        try:
            _in_mode(write, disabled, sql_mode, charset, collation)
        finally:
            write.execute("SET SESSION time_zone = %s", (saved_zone,))
        report.events.append(name)


def _check_faithful(conn: Any, server: ServerInfo, destination: Any, source: str, target: str, report: CloneReport) -> None:
    """The copy's schema and table options equal production's, or the copy fails with what differs."""
    target_server = server if destination is conn else detect_server(destination)
    exclude = tuple(BOOKKEEPING_TABLES)
    want = portable_schema(read_schema(conn, source, server, exclude), source)
    got = portable_schema(read_schema(destination, target, target_server, exclude), target)
    report.fingerprint = fingerprint(got)
    lines = diff_tables(want.tables, got.tables)
    for kind in want.OBJECT_KINDS:
        if want.objects(kind) != got.objects(kind):
            lines.append(f"{kind} differ: {sorted(set(want.objects(kind)) ^ set(got.objects(kind))) or 'bodies'}")
    if not lines and fingerprint(want) != report.fingerprint:
        lines.append("schema fingerprints differ")
    lines += _option_differences(conn, destination, source, target)
    if lines:
        raise SchemagateError(f"The copy of {source!r} in {target!r} is not faithful: " + "; ".join(lines[:10]))


def _table_options(conn: Any, database: str) -> Dict[str, Tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT TABLE_NAME, {', '.join(_OPTION_COLUMNS)} FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE'",
            (database,),
        )
        return {str(row[0]): tuple(row[1:]) for row in cur.fetchall() if row[0] not in BOOKKEEPING_TABLES}


def _option_differences(conn: Any, destination: Any, source: str, target: str) -> List[str]:
    want, got = _table_options(conn, source), _table_options(destination, target)
    lines = []
    for name in sorted(set(want) & set(got)):
        for column, expected, actual in zip(_OPTION_COLUMNS, want[name], got[name]):
            if column == "CREATE_OPTIONS":  # the copy's row format may be written out where production's was the default
                expected, actual = _options_without_row_format(expected), _options_without_row_format(actual)
            if (expected or "") != (actual or ""):
                lines.append(f"table {name}: {column.lower()} is {actual!r}, production's {expected!r}")
    return lines


def _options_without_row_format(options: Optional[str]) -> str:
    return " ".join(part for part in (options or "").split() if not part.lower().startswith("row_format="))
