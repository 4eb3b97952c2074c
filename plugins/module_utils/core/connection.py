"""The one way schemagate connects to MySQL/MariaDB.

Options are named as ``ansible.mysql``/``community.mysql`` name them so users can
reuse their ``module_defaults``. The password is handed to the driver in memory:
it never reaches argv, a log line or an error message.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional

from .errors import SchemagateError
from .option_file import read_groups
# error_code and error_text are re-exported: callers import them from here.
from .server_errors import (  # noqa: F401  pylint: disable=unused-import
    CR_CONN_HOST_ERROR,
    CR_CONNECTION_ERROR,
    CR_UNKNOWN_HOST,
    ER_ACCESS_DENIED,
    ER_BAD_DB,
    error_code,
    error_text,
)

try:
    import pymysql
    from pymysql.err import MySQLError
except ImportError:  # reported by modules through missing_required_lib
    pymysql = None

    class MySQLError(Exception):  # type: ignore[no-redef]
        """Stand-in so except clauses stay valid without the driver."""


PYMYSQL_MISSING = pymysql is None

# Shared by every module; the matching documentation is the doc fragment
# schemagate.mysql.connection.
CONNECTION_ARGUMENT_SPEC: Dict[str, Dict[str, Any]] = {
    "login_host": {"type": "str"},
    "login_user": {"type": "str"},
    "login_password": {"type": "str", "no_log": True},
    "login_port": {"type": "int"},
    "login_unix_socket": {"type": "str"},
    "config_file": {"type": "path"},
    "ca_cert": {"type": "path", "aliases": ["ssl_ca"]},
    "client_cert": {"type": "path", "aliases": ["ssl_cert"]},
    "client_key": {"type": "path", "aliases": ["ssl_key"]},
    "check_hostname": {"type": "bool"},
    "connect_timeout": {"type": "int", "default": 30},
    "sql_log_bin": {"type": "bool"},
}

_IDENTIFIER = re.compile(r"^[A-Za-z0-9_$]{1,64}$")


@dataclass(frozen=True)
class ConnectionParams:
    host: Optional[str] = None
    user: Optional[str] = None
    password: Optional[str] = None
    port: Optional[int] = None
    unix_socket: Optional[str] = None
    config_file: Optional[str] = None
    ca_cert: Optional[str] = None
    client_cert: Optional[str] = None
    client_key: Optional[str] = None
    check_hostname: Optional[bool] = None
    connect_timeout: int = 30
    # False: every session of this connection writes nothing to the binary log (SET SESSION sql_log_bin = 0).
    sql_log_bin: Optional[bool] = None

    @classmethod
    def from_module_params(cls, params: Mapping[str, Any]) -> "ConnectionParams":
        return cls(
            host=params.get("login_host"),
            user=params.get("login_user"),
            password=params.get("login_password"),
            port=params.get("login_port"),
            unix_socket=params.get("login_unix_socket"),
            config_file=params.get("config_file"),
            ca_cert=params.get("ca_cert"),
            client_cert=params.get("client_cert"),
            client_key=params.get("client_key"),
            check_hostname=params.get("check_hostname"),
            connect_timeout=params.get("connect_timeout") or 30,
            sql_log_bin=params.get("sql_log_bin"),
        )

    def describe(self) -> str:
        """Where we connect, for messages (never the password)."""
        if self.unix_socket:
            where = f"socket {self.unix_socket}"
        elif self.host or self.port or not self.config_file:
            where = f"{self.host or 'localhost'}:{self.port or 3306}"
        else:
            where = "(host from config_file)"
        described = f"{self.user or '(user from config_file)'}@{where}"
        return f"{described} via {self.config_file}" if self.config_file else described


def validate_identifier(name: str, what: str = "identifier") -> str:
    """Accept plain MySQL identifiers only, so names can be quoted safely everywhere."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise SchemagateError(
            f"Invalid {what} {name!r}: use 1-64 letters, digits, '_' or '$' "
            "(no quotes, backticks, spaces or dots)."
        )
    return name


def quote_name(name: str) -> str:
    """Quote any identifier: backticks doubled, so every name the server accepts reads back as itself."""
    return "`" + name.replace("`", "``") + "`"


def check_identifier(name: str, what: str = "identifier") -> str:
    """``name`` if some server accepts it as an identifier; one line saying why not otherwise."""
    if not isinstance(name, str) or not name or len(name) > 64 or "\0" in name or name != name.rstrip(" "):
        raise SchemagateError(f"Invalid {what} {name!r}: an identifier has 1-64 characters, no NUL and no trailing space.")
    return name


def quote_identifier(name: str, what: str = "identifier") -> str:
    """Quote an identifier, refusing only what no server accepts as one.

    One policy for every name that reaches SQL, wherever it came from: a table the backup can
    dump, the gate can copy, seed and probe. Names schemagate composes from what a user types in
    (scratch databases, the journal table, backup file names) are held to ``validate_identifier``.
    """
    return quote_name(check_identifier(name, what))


def connect(params: ConnectionParams, database: Optional[str] = None, autocommit: bool = True) -> Any:
    """Open a pymysql connection; raise SchemagateError with a one-line cause."""
    if pymysql is None:
        raise SchemagateError("The PyMySQL driver is missing: pip install PyMySQL on the host that runs the module.")
    if database is not None:
        validate_identifier(database, "database name")
    explicit = {
        "host": params.host,
        "user": params.user,
        "password": params.password,
        "port": params.port,
        "unix_socket": params.unix_socket,
        "ssl-ca": params.ca_cert,
        "ssl-cert": params.client_cert,
        "ssl-key": params.client_key,
    }
    merged = {**(file_options(params.config_file) if params.config_file else {}),
              **{key: value for key, value in explicit.items() if value not in (None, "")}}
    kwargs: Dict[str, Any] = {
        "connect_timeout": params.connect_timeout,
        "autocommit": autocommit,
        "charset": "utf8mb4",
        "database": database,
    }
    for key in ("host", "user", "port", "unix_socket"):
        if merged.get(key) is not None:
            kwargs[key] = merged[key]
    if merged.get("password") is not None:
        # The server compares the password's bytes as the client tools send them: UTF-8 (PyMySQL
        # would encode a str as latin-1, failing any password outside latin-1).
        kwargs["password"] = str(merged["password"]).encode("utf-8")
    ssl: Dict[str, Any] = {}
    for key, name in (("ssl-ca", "ca"), ("ssl-capath", "capath"), ("ssl-cert", "cert"), ("ssl-key", "key")):
        if merged.get(key):
            ssl[name] = merged[key]
    if params.check_hostname is not None and ssl:
        ssl["check_hostname"] = params.check_hostname
    if ssl:
        kwargs["ssl"] = ssl
    try:
        conn = pymysql.connect(**kwargs)
    except MySQLError as exc:
        raise connection_error(exc, params, database) from None
    except (OSError, ValueError) as exc:  # unreadable config file, bad certificate path...
        raise SchemagateError(f"Cannot connect to {params.describe()}: {exc}") from None
    if params.sql_log_bin is False:
        _skip_binary_log(conn, params)
    return conn


def _skip_binary_log(conn: Any, params: ConnectionParams) -> None:
    """SET SESSION sql_log_bin = 0, or one line saying the account may not (and the connection closed)."""
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION sql_log_bin = 0")
    except MySQLError as exc:
        conn.close()
        raise SchemagateError(
            f"{params.describe()} may not SET SESSION sql_log_bin = 0 ({error_text(exc)}): rehearsing on production's "
            "own server needs it (grant SUPER, or BINLOG ADMIN on MariaDB); or rehearse elsewhere "
            "(schemagate_rehearsal_mode: embedded)."
        ) from None


FILE_OPTIONS = {"user": "user", "password": "password", "host": "host", "port": "port", "socket": "unix_socket",
                "ssl-ca": "ssl-ca", "ssl-capath": "ssl-capath", "ssl-cert": "ssl-cert", "ssl-key": "ssl-key"}


def file_options(path: str) -> Dict[str, Any]:
    """The connection options of an option file's client groups (see option_file), named as connect() names them."""
    found = read_groups(path)
    options: Dict[str, Any] = {}
    for name, key in FILE_OPTIONS.items():
        value = found.get(name)
        if value is None:
            continue
        if key == "port":
            if not value.strip().isdigit():
                raise SchemagateError(f"The option file {path} gives a port that is not a number.")
            options[key] = int(value)
        else:
            options[key] = value
    return options


def connection_error(exc: BaseException, params: ConnectionParams, database: Optional[str]) -> SchemagateError:
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    where = params.describe()
    if code == ER_ACCESS_DENIED:
        return SchemagateError(f"Access denied for {where}: check login_user and login_password (or config_file).")
    if code == ER_BAD_DB:
        return SchemagateError(f"Unknown database {database!r} on {where}: check the database name.")
    text = error_text(exc)
    if code == CR_CONN_HOST_ERROR and ("SSL" in text or "certificate" in text.lower()):
        reason = text.split("(", 2)[-1].rstrip(")") if text.count("(") >= 2 else text
        return SchemagateError(
            f"TLS handshake with {where} failed ({reason}): check ca_cert, client_cert, client_key and check_hostname."
        )
    if code in (CR_CONN_HOST_ERROR, CR_CONNECTION_ERROR, CR_UNKNOWN_HOST):
        return SchemagateError(
            f"Cannot reach the MySQL server at {where}: check login_host/login_port/login_unix_socket "
            "and that the server is running."
        )
    return SchemagateError(f"Cannot connect to {where}: {error_text(exc)}")
