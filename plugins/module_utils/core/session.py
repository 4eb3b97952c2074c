"""One SQL session: the choke point through which schemagate's SQL reaches a server.

It holds a connection and the server it reached, quotes every identifier with
one policy (``connection.quote_identifier``), and turns a driver error into one
SchemagateError line that says what was being done. New code talks to the
server through a SqlSession; code that needs the raw driver (streaming a dump,
a second connection for a concurrent probe) takes ``session.conn``.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

from .connection import ConnectionParams, MySQLError, connect, quote_identifier
from .dialect import ServerInfo, detect_server
from .errors import SchemagateError
from .server_errors import error_code, error_text

Args = Optional[Sequence[Any]]


class SqlSession:
    def __init__(self, conn: Any, server: Optional[ServerInfo] = None) -> None:
        self.conn = conn
        self._server = server

    @property
    def server(self) -> ServerInfo:
        """The server's flavour and version, read on first use."""
        if self._server is None:
            self._server = detect_server(self.conn)
        return self._server

    @classmethod
    def open(cls, params: ConnectionParams, database: Optional[str] = None, autocommit: bool = True) -> "SqlSession":
        return cls(connect(params, database, autocommit))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "SqlSession":
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()

    # ----------------------------------------------------------- identifiers
    @staticmethod
    def name(*parts: str) -> str:
        """`db`.`table`(.`column`): each part quoted by the one identifier policy."""
        return ".".join(quote_identifier(part) for part in parts)

    # ------------------------------------------------------------ statements
    def execute(self, sql: str, args: Args = None, doing: str = "") -> int:
        """Run one statement; its affected-row count."""
        with self.conn.cursor() as cur:
            try:
                cur.execute(sql, args)
            except MySQLError as exc:
                raise self.failure(exc, doing or sql) from None
            return int(cur.rowcount)

    def rows(self, sql: str, args: Args = None, doing: str = "") -> List[Tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            try:
                cur.execute(sql, args)
                return [tuple(row) for row in cur.fetchall()]
            except MySQLError as exc:
                raise self.failure(exc, doing or sql) from None

    def row(self, sql: str, args: Args = None, doing: str = "") -> Optional[Tuple[Any, ...]]:
        found = self.rows(sql, args, doing)
        return found[0] if found else None

    def scalar(self, sql: str, args: Args = None, doing: str = "") -> Any:
        found = self.row(sql, args, doing)
        return found[0] if found else None

    @staticmethod
    def failure(exc: BaseException, doing: str) -> SchemagateError:
        """One line: what was being done and what the server said, with its code in the details."""
        what = " ".join(doing.split())
        what = what if len(what) <= 120 else what[:117] + "..."
        return SchemagateError(f"{what} failed: {error_text(exc)}", {"error_code": error_code(exc)})

    # --------------------------------------------------------------- catalog
    def database_exists(self, name: str) -> bool:
        return self.row("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,)) is not None

    def require_database(self, name: str) -> None:
        if not self.database_exists(name):
            raise SchemagateError(f"Unknown database {name!r}: check the database name (or the account's privileges).")

    def table_exists(self, database: str, table: str) -> bool:
        return self.row(
            "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s", (database, table)
        ) is not None


def database_exists(conn: Any, name: str) -> bool:
    """For callers holding a bare connection: the same question, asked the one way."""
    return SqlSession(conn).database_exists(name)


def server_identity(conn: Any) -> Tuple[str, str, str]:
    """What tells two servers apart from a client: host name, port and data directory."""
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT @@hostname, CAST(@@port AS CHAR), @@datadir")
            row = cur.fetchone()
    except MySQLError as exc:
        raise SchemagateError(f"Cannot read the server's identity: {error_text(exc)}") from None
    return str(row[0]), str(row[1]), str(row[2])


def same_server(first: Any, second: Any) -> bool:
    return server_identity(first) == server_identity(second)
