"""Everything that differs between MariaDB and MySQL 8, in one place.

Callers ask the ServerInfo for a tool name or a normalisation instead of
testing the flavour themselves, so supporting another version means editing
this file only.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, NamedTuple, Optional, Tuple

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
