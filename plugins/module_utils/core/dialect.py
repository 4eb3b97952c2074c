"""Everything that differs between MariaDB and MySQL 8, in one place.

Callers ask the ServerInfo for a tool name or a normalisation instead of
testing the flavour themselves, so supporting another version means editing
this file only.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, NamedTuple, Optional, Tuple

from .server_errors import (
    ER_ALTER_OPERATION_NOT_SUPPORTED,
    ER_ALTER_OPERATION_NOT_SUPPORTED_REASON,
    ER_INNODB_MAX_ROW_VERSION_MYSQL,
    ER_QUERY_INTERRUPTED,
    ER_QUERY_TIMEOUT_MYSQL,
    ER_STATEMENT_TIMEOUT_MARIADB,
)

MARIADB = "mariadb"
MYSQL = "mysql"

_INT_WIDTH = re.compile(r"\b(tinyint|smallint|mediumint|int|bigint)\(\d+\)")
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)")
_JSON_CHECK = re.compile(r"^json_valid\(`?([^`()]+)`?\)$", re.IGNORECASE)


@dataclass(frozen=True)
class ServerInfo:
    flavor: str  # MARIADB or MYSQL
    version: Tuple[int, int, int]
    version_string: str

    @property
    def is_mariadb(self) -> bool:
        return self.flavor == MARIADB

    @property
    def label(self) -> str:
        return f"{'MariaDB' if self.is_mariadb else 'MySQL'} {'.'.join(map(str, self.version))}"

    # --- client tools -------------------------------------------------------
    @property
    def dump_tools(self) -> Tuple[str, ...]:
        """Dump programs to look for, preferred first (MariaDB 11 drops the mysql* names)."""
        return ("mariadb-dump", "mysqldump") if self.is_mariadb else ("mysqldump",)

    @property
    def client_tools(self) -> Tuple[str, ...]:
        return ("mariadb", "mysql") if self.is_mariadb else ("mysql",)

    # --- catalog normalisation ---------------------------------------------
    @property
    def has_native_json(self) -> bool:
        """MySQL stores JSON natively; MariaDB's JSON is LONGTEXT + a json_valid() CHECK."""
        return not self.is_mariadb

    def json_check_column(self, check_clause: str) -> Optional[str]:
        """The column a MariaDB JSON-alias CHECK guards, or None for any other check."""
        match = _JSON_CHECK.match(check_clause.strip())
        return match.group(1) if match else None

    @property
    def supports_instant_add_column(self) -> bool:
        """ALGORITHM=INSTANT for ADD COLUMN: MariaDB 10.3+, MySQL 8.0.12+ (any position from 8.0.29)."""
        if self.is_mariadb:
            return self.version >= (10, 3, 0)
        return self.version >= (8, 0, 12)

    @property
    def supports_check_constraints(self) -> bool:
        return self.version >= ((10, 2, 1) if self.is_mariadb else (8, 0, 16))

    # --- query plans (the gate's benchmark) ---------------------------------
    @property
    def explain_prefix(self) -> str:
        """EXPLAIN in the classic one-row-per-table form.

        MySQL 8.0.32+ may default to TREE or JSON (``explain_format``), so ask for
        TRADITIONAL; MariaDB has no FORMAT=TRADITIONAL but always answers with table rows.
        """
        return "EXPLAIN" if self.is_mariadb else "EXPLAIN FORMAT=TRADITIONAL"

    @property
    def has_query_cache(self) -> bool:
        """MariaDB still has the query cache (session ``query_cache_type``); MySQL 8.0 removed it."""
        return self.is_mariadb

    # --- backups (added for backup.py) ---------------------------------------
    @property
    def dump_flavor_options(self) -> Tuple[str, ...]:
        """Dump options only MySQL's mysqldump needs.

        mysqldump 8 reads tablespaces only with the PROCESS privilege, and with GTIDs on it would
        write ``SET @@GLOBAL.GTID_PURGED`` into the dump, which needs SUPER to restore.
        """
        return () if self.is_mariadb else ("--no-tablespaces", "--set-gtid-purged=OFF")

    def client_tls_options(self, has_ca: bool, check_hostname: Optional[bool]) -> Tuple[str, ...]:
        """Option-file lines that make a client tool verify the server as PyMySQL does.

        PyMySQL verifies the certificate and host name when given a CA (the name check can be
        turned off); MariaDB tools have one switch for both, MySQL tools an ssl-mode.
        """
        if not has_ca:
            return ()
        if self.is_mariadb:
            return () if check_hostname is False else ("ssl-verify-server-cert",)
        return ("ssl-mode=VERIFY_CA",) if check_hostname is False else ("ssl-mode=VERIFY_IDENTITY",)

    # --- online DDL (added for gate/ddl_probe.py) ---------------------------
    @property
    def alter_ladder(self) -> Tuple["AlterAttempt", ...]:
        """ALGORITHM/LOCK clauses to try, least disruptive first; the first one accepted is what the engine does.

        ``ALGORITHM=X`` means "X or better" on both servers, so the first accepted rung is the engine's own
        choice. MySQL has no NOCOPY (a syntax error there); MariaDB's NOCOPY is in-place without a rebuild.
        """
        rungs = [AlterAttempt("INSTANT", None)]
        if self.is_mariadb:
            rungs.append(AlterAttempt("NOCOPY", "NONE"))
        rungs += [AlterAttempt("INPLACE", "NONE"), AlterAttempt("INPLACE", "SHARED"), AlterAttempt("INPLACE", "EXCLUSIVE"),
                  AlterAttempt("COPY", "SHARED"), AlterAttempt("COPY", "EXCLUSIVE")]
        return tuple(rungs)

    def alter_refusal(self, code: Optional[int], message: str) -> Optional["AlterRefusal"]:
        """The engine's refusal of an ALGORITHM/LOCK clause, or None when the error is something else.

        1845 ``X is not supported for this operation. Try Y`` and 1846 ``X is not supported. Reason: R.
        Try Y`` on both servers (MySQL ends them with a period and may suggest ``ALGORITHM=COPY/INPLACE``);
        MySQL 8.0.29+ also refuses an instant ADD/DROP COLUMN once the table's row versions are used up (4092).
        """
        text = " ".join(message.split())
        if code == ER_INNODB_MAX_ROW_VERSION_MYSQL and not self.is_mariadb:
            return AlterRefusal(code, "ALGORITHM=INSTANT", "maximum row versions reached", "ALGORITHM=COPY/INPLACE", text)
        if code not in (ER_ALTER_OPERATION_NOT_SUPPORTED, ER_ALTER_OPERATION_NOT_SUPPORTED_REASON):
            return None
        match = _REFUSAL.match(text)
        if not match:
            return AlterRefusal(code, "", "", "", text)
        return AlterRefusal(code, match.group("clause"), (match.group("reason") or "").strip(),
                            (match.group("suggestion") or "").rstrip(".").strip(), text)

    @property
    def innodb_tables_view(self) -> str:
        """The information_schema view with InnoDB's TABLE_ID (a changed id means the table was rebuilt)."""
        return "information_schema.INNODB_SYS_TABLES" if self.is_mariadb else "information_schema.INNODB_TABLES"

    @staticmethod
    def innodb_table_name(database: str, table: str) -> str:
        return f"{database}/{table}"

    @property
    def alter_variables(self) -> Tuple[str, ...]:
        """Server variables that change what an ALTER without a clause does (read on production, mirrored on the copy).

        MariaDB: ``alter_algorithm`` (with COPY even an explicit INSTANT copies) and the global-only
        ``innodb_instant_alter_column_allowed``; MySQL: ``old_alter_table`` (ON = COPY unless a clause says otherwise).
        """
        if self.is_mariadb:
            return ("alter_algorithm", "innodb_instant_alter_column_allowed", "innodb_default_row_format")
        return ("old_alter_table", "innodb_default_row_format")

    @property
    def session_alter_variables(self) -> Tuple[str, ...]:
        """The subset of ``alter_variables`` a session may set for itself."""
        return ("alter_algorithm",) if self.is_mariadb else ("old_alter_table",)

    def copies_despite_clause(self, variables: Mapping[str, Any]) -> bool:
        """MariaDB executes an explicit INSTANT/NOCOPY as COPY when alter_algorithm is COPY (measured on 10.11)."""
        return self.is_mariadb and str(variables.get("alter_algorithm", "")).upper() == "COPY"

    @property
    def max_row_versions(self) -> Optional[int]:
        """Instant ADD/DROP COLUMNs a MySQL table can take before a rebuild (64; 255 from 9.1.0); None on MariaDB."""
        if self.is_mariadb or self.version < (8, 0, 29):
            return None
        return 255 if self.version >= (9, 1, 0) else 64

    @property
    def row_versions_query(self) -> Optional[str]:
        if self.max_row_versions is None:
            return None
        return "SELECT TOTAL_ROW_VERSIONS FROM information_schema.INNODB_TABLES WHERE NAME = %s"

    @property
    def instant_drop_column(self) -> bool:
        """DROP COLUMN ... ALGORITHM=INSTANT: MariaDB 10.4+, MySQL 8.0.29+."""
        return self.version >= ((10, 4, 0) if self.is_mariadb else (8, 0, 29))

    # --- bounded, read-only probes on production (added for gate/data_probe.py) -
    def statement_time_limit(self, seconds: float) -> Tuple[str, Tuple[Any, ...]]:
        """A session statement-time limit: MariaDB's max_statement_time (seconds, every statement),
        MySQL's max_execution_time (milliseconds, read-only SELECTs only: the probes are SELECTs)."""
        if self.is_mariadb:
            return "SET SESSION max_statement_time = %s", (float(seconds),)
        return "SET SESSION max_execution_time = %s", (int(round(seconds * 1000)),)

    @property
    def statement_timeout_codes(self) -> Tuple[int, ...]:
        """Errors of a statement stopped by that limit (MariaDB says 1317 for an in-place ALTER)."""
        return (ER_STATEMENT_TIMEOUT_MARIADB, ER_QUERY_INTERRUPTED) if self.is_mariadb else (ER_QUERY_TIMEOUT_MYSQL, ER_QUERY_INTERRUPTED)

    @property
    def read_only_session(self) -> str:
        """Refuses writes and DDL in this session (1792) on both; the account's grants are the real boundary."""
        return "SET SESSION TRANSACTION READ ONLY"

    @property
    def read_write_session(self) -> str:
        return "SET SESSION TRANSACTION READ WRITE"

    @property
    def fresh_table_statistics(self) -> Optional[str]:
        """MySQL 8 caches information_schema.TABLES figures for a day (information_schema_stats_expiry)."""
        return None if self.is_mariadb else "SET SESSION information_schema_stats_expiry = 0"

    # --- faithful copies (added for gate/clone.py and the backup restore) -----
    @property
    def generated_key_probe(self) -> bool:
        """Whether ``CREATE TEMPORARY TABLE t LIKE src`` keeps the server's *generated* mark on a foreign key's index,
        so that adding a covering index to the temporary copy drops exactly the generated ones.

        Measured on MariaDB 10.11 (an index the server made for a foreign key goes, one written as KEY stays).
        MySQL 8 keeps the same mark in its data dictionary (``is_generated``) and copies it through LIKE by the same
        code path; not run in this project's CI.
        """
        return True

    def binlog_records_temporary_tables(self, log_bin: Any, binlog_format: Any) -> bool:
        """Whether a temporary table's DDL would reach the binary log (and every replica): with STATEMENT or MIXED
        logging both servers write it; with ROW neither does."""
        return bool(int(log_bin or 0)) and str(binlog_format or "").upper() != "ROW"

    def view_body_prefix(self, database: str) -> str:
        """How SHOW CREATE VIEW qualifies the view's own database (both servers: backquoted, then a dot)."""
        return f"`{database}`."

    @property
    def supports_if_exists_in_alter(self) -> bool:
        """ADD COLUMN IF NOT EXISTS, DROP COLUMN IF EXISTS...: MariaDB only."""
        return self.is_mariadb


_REFUSAL = re.compile(
    r"^(?P<clause>(?:ALGORITHM|LOCK)=\S+?) is not supported(?: for this operation)?\.?"
    r"(?: Reason: (?P<reason>.*?)\.?)?(?: Try (?P<suggestion>\S+?))?\.?$"
)


@dataclass(frozen=True)
class AlterAttempt:
    """One rung of the ladder: the clause appended to the statement."""

    algorithm: str
    lock: Optional[str]

    @property
    def label(self) -> str:
        return f"ALGORITHM={self.algorithm}" + (f", LOCK={self.lock}" if self.lock else "")


@dataclass(frozen=True)
class AlterRefusal:
    code: int
    clause: str  # what was refused: ALGORITHM=INSTANT, LOCK=NONE
    reason: str  # the engine's reason (1846), "" for 1845
    suggestion: str  # what it says to try: ALGORITHM=COPY, LOCK=SHARED
    text: str


def parse_server(version_string: str, version_comment: str = "") -> ServerInfo:
    """Classify a server from ``SELECT VERSION(), @@version_comment``."""
    text = f"{version_string} {version_comment}".lower()
    flavor = MARIADB if "mariadb" in text else MYSQL
    if flavor == MARIADB and version_string.startswith("5.5.5-"):
        version_string = version_string[len("5.5.5-"):]  # the replication-compatibility prefix of old protocols
    match = _VERSION.match(version_string)
    version = tuple(int(p) for p in match.groups()) if match else (0, 0, 0)
    return ServerInfo(flavor=flavor, version=version, version_string=version_string)  # type: ignore[arg-type]


def detect_server(conn: Any) -> ServerInfo:
    with conn.cursor() as cur:
        cur.execute("SELECT VERSION(), @@version_comment")
        version_string, comment = cur.fetchone()
    return parse_server(str(version_string), str(comment or ""))


def normalize_column_type(column_type: str) -> str:
    """Drop integer display widths (MySQL 8 style), keeping tinyint(1), the boolean type."""
    lowered = column_type.lower()
    return _INT_WIDTH.sub(lambda m: m.group(0) if m.group(0) == "tinyint(1)" else m.group(1), lowered)


def normalize_default(default: Optional[str], extra: str, server: ServerInfo) -> Optional[str]:
    """A column default as one canonical string (or None), whatever the server reports.

    MariaDB quotes literals (``'pending'``) and reports a nullable column without
    default as the string ``NULL``; MySQL reports literals bare and marks
    expressions with DEFAULT_GENERATED in EXTRA.
    """
    if default is None:
        return None
    if server.is_mariadb:
        if default == "NULL":
            return None
        if len(default) >= 2 and default[0] == default[-1] == "'":
            return default[1:-1].replace("''", "'").replace("\\\\", "\\")
        return _canonical_expression(default)
    if "default_generated" in extra.lower():
        return _canonical_expression(default)
    return default


def normalize_extra(extra: str) -> Optional[str]:
    """EXTRA without MySQL's DEFAULT_GENERATED marker, lower-case; None when empty."""
    cleaned = re.sub(r"\bdefault_generated\b", "", extra.lower()).strip()
    cleaned = _canonical_expression(cleaned) if cleaned else ""
    return cleaned or None


def _canonical_expression(expr: str) -> str:
    lowered = expr.strip().lower()
    return re.sub(r"\bcurrent_timestamp\b(?!\()", "current_timestamp()", lowered)


def normalize_fk_rule(rule: str) -> str:
    """InnoDB enforces NO ACTION exactly as RESTRICT; MySQL reports NO ACTION where MariaDB says RESTRICT."""
    rule = rule.upper()
    return "RESTRICT" if rule == "NO ACTION" else rule


class ExplainLine(NamedTuple):
    """One table access of a query plan, the same on every server."""

    table: Optional[str]  # as the query names it: the alias if it has one; None for "No tables used"
    access_type: Optional[str]  # ALL, index, range, ref, eq_ref, const, ...
    key: Optional[str]  # the index used to access the table; "a,b" for index_merge
    rows: Optional[int]  # the optimizer's estimate of rows read


def normalize_explain_row(row: Mapping[str, Any]) -> ExplainLine:
    """An EXPLAIN row (column name -> value, any case) as an ExplainLine.

    MariaDB's rowid filter (10.4+) reports ``type`` "ref|filter", ``key`` "access_idx|filter_idx"
    and ``rows`` "1000 (5%)"; the access part is what reads the table, so the filter part is
    dropped. MySQL's TRADITIONAL format has the same columns plus partitions and filtered.
    """
    values = {str(name).lower(): value for name, value in row.items()}

    def access_part(value: Any) -> Optional[str]:
        return None if value is None else str(value).split("|", 1)[0] or None

    rows = values.get("rows")
    match = re.match(r"^\s*(\d+)", str(rows)) if rows is not None else None
    return ExplainLine(
        table=None if values.get("table") is None else str(values["table"]),
        access_type=access_part(values.get("type")),
        key=access_part(values.get("key")),
        rows=int(match.group(1)) if match else None,
    )


# --- statements written for the other server -------------------------------
# MySQL 8's default sql_mode: a MySQL 8 migration set often relies on it (sql_mode: mysql8).
MYSQL8_DEFAULT_SQL_MODE = (
    "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"
)
_SQL_MODE_PRESETS = {"mysql8": MYSQL8_DEFAULT_SQL_MODE}

# (pattern, what it is, what to write instead). Kept small: the server's own error decides that a
# statement failed; these only name the likely cause. Error codes: 1064 parse error, 1273 unknown
# collation, 1115 unknown character set, 4161/1286 unknown engine or storage.
MYSQL_ONLY_CONSTRUCTS: Tuple[Tuple[str, str, str], ...] = (
    (r"\bALTER\s+INDEX\s+\S+\s+(?:IN)?VISIBLE\b", "ALTER INDEX ... VISIBLE/INVISIBLE",
     "MariaDB writes ALTER TABLE ... ALTER INDEX ... IGNORED / NOT IGNORED (10.6+)"),
    (r"\)\s*(?:INVISIBLE|VISIBLE)\b(?=\s*(?:,|\)|COMMENT|$))", "an INVISIBLE/VISIBLE index",
     "MariaDB writes IGNORED / NOT IGNORED (10.6+)"),
    (r"(?:INDEX|KEY)\s*(?:`[^`]*`|\w+)?\s*\(\s*\(", "a functional key part ((expression))",
     "MariaDB indexes an expression through a generated (virtual) column"),
    (r"\bCAST\s*\(.*\bARRAY\s*\)", "a multi-valued index (CAST ... AS ... ARRAY)",
     "MariaDB has no multi-valued indexes: index a generated column or a child table"),
    (r"\bNOT\s+ENFORCED\b|\)\s*ENFORCED\b", "CHECK ... [NOT] ENFORCED", "MariaDB enforces every CHECK: drop the clause"),
    (r"\butf8mb4_0900_\w+", "a utf8mb4_0900_* collation", "MariaDB before 11.4 uses utf8mb4_unicode_ci or utf8mb4_uca1400_ai_ci"),
    (r"\bLATERAL\s*\(", "a LATERAL derived table", "MariaDB has no LATERAL: rewrite it as a join or a correlated subquery"),
    (r"\bSRID\s+\d+", "a column SRID attribute", "MariaDB has no SRID column attribute: drop it (or use a CHECK on ST_SRID)"),
)
MARIADB_ONLY_CONSTRUCTS: Tuple[Tuple[str, str, str], ...] = (
    (r"^\s*CREATE\s+OR\s+REPLACE\s+TABLE\b", "CREATE OR REPLACE TABLE", "MySQL writes DROP TABLE IF EXISTS, then CREATE TABLE"),
    (r"\b(?:ADD|DROP|MODIFY|CHANGE)\s+(?:COLUMN\s+|INDEX\s+|KEY\s+)?IF\s+(?:NOT\s+)?EXISTS\b", "ALTER TABLE ... IF [NOT] EXISTS",
     "MySQL has no IF [NOT] EXISTS in ALTER TABLE: check information_schema first"),
    (r"\bWITH\s+SYSTEM\s+VERSIONING\b", "a system-versioned table", "MySQL has no system versioning"),
    (r"\b(?:INET6|INET4|UUID)\b(?=\s*(?:NOT\s+NULL|NULL|DEFAULT|,|\)|PRIMARY))", "the INET6/INET4/UUID type",
     "MySQL stores them as VARBINARY(16) or CHAR(36)"),
    (r"\bCREATE\s+(?:OR\s+REPLACE\s+)?SEQUENCE\b", "CREATE SEQUENCE", "MySQL has no sequences: use AUTO_INCREMENT"),
    (r"\bBEGIN\s+NOT\s+ATOMIC\b", "an anonymous BEGIN NOT ATOMIC block", "MySQL runs compound statements only inside a routine"),
    (r"\bIGNORED\b", "an IGNORED index", "MySQL writes INVISIBLE"),
    (r"\bRETURNING\b", "INSERT/DELETE ... RETURNING", "MySQL has no RETURNING: SELECT the rows afterwards"),
)
_FOREIGN_ERRORS = (1064, 1273, 1115, 1286, 4161)


def resolve_sql_mode(mode: str) -> str:
    """A session sql_mode value: a preset's expansion (``mysql8``) or the modes as given."""
    return _SQL_MODE_PRESETS.get(mode.strip().lower(), mode.strip())


def foreign_construct(sql: str, server: ServerInfo, error_code: Optional[int]) -> Optional[str]:
    """A line naming the other server's construct a failed statement uses, or None.

    Called only with the server's error: a statement that worked needs no explanation.
    """
    if error_code not in _FOREIGN_ERRORS:
        return None
    constructs = MYSQL_ONLY_CONSTRUCTS if server.is_mariadb else MARIADB_ONLY_CONSTRUCTS
    here, there = ("MariaDB", "MySQL 8") if server.is_mariadb else ("MySQL", "MariaDB")
    for pattern, what, instead in constructs:
        if re.search(pattern, sql, re.IGNORECASE | re.DOTALL):
            return f"It uses {what}, {there} syntax that {here} {'.'.join(map(str, server.version[:2]))} does not have: {instead}"
    return None
