"""The server and client error codes schemagate reacts to, named once.

MariaDB and MySQL share these numbers (client errors 2xxx come from the driver).
Where the two differ, both codes are listed and ``core/dialect.py`` says which applies.
"""
from __future__ import annotations

from typing import Any, Optional

# Connecting
ER_DBACCESS_DENIED = 1044
ER_ACCESS_DENIED = 1045
ER_BAD_DB = 1049
CR_CONNECTION_ERROR = 2002  # the Unix socket refused or is missing
CR_CONN_HOST_ERROR = 2003  # TCP refused or unreachable (also TLS handshake failures, in PyMySQL)
CR_UNKNOWN_HOST = 2005
CR_SERVER_GONE = 2006
CR_SERVER_LOST = 2013

# Statements
ER_DUP_ENTRY = 1062
ER_PARSE_ERROR = 1064
ER_TABLEACCESS_DENIED = 1142
ER_NO_SUCH_TABLE = 1146
ER_LOCK_WAIT_TIMEOUT = 1205  # also a metadata lock not granted within lock_wait_timeout
ER_LOCK_DEADLOCK = 1213
ER_SPECIFIC_ACCESS_DENIED = 1227  # e.g. SET sql_log_bin without the privilege
ER_ALTER_OPERATION_NOT_SUPPORTED = 1845
ER_ALTER_OPERATION_NOT_SUPPORTED_REASON = 1846  # ALGORITHM=INSTANT/INPLACE or LOCK=NONE refused
ER_STATEMENT_TIMEOUT_MARIADB = 1969  # max_statement_time exceeded
ER_QUERY_TIMEOUT_MYSQL = 3024  # max_execution_time exceeded
ER_QUERY_INTERRUPTED = 1317  # KILL QUERY; also MariaDB's max_statement_time during an in-place ALTER
ER_INNODB_MAX_ROW_VERSION_MYSQL = 4092  # MySQL 8.0.29+: no instant ADD/DROP COLUMN left before a rebuild
ER_READ_ONLY_TRANSACTION = 1792
ER_CHECK_CONSTRAINT_VIOLATED = 4025

LOST_CONNECTION = (CR_SERVER_GONE, CR_SERVER_LOST)


def error_code(exc: BaseException) -> Optional[int]:
    """The numeric code of a driver error, None for anything else."""
    args: Any = exc.args
    return args[0] if args and isinstance(args[0], int) else None


def error_text(exc: BaseException) -> str:
    """'(code) message' of a driver error on one line."""
    if len(exc.args) >= 2 and isinstance(exc.args[0], int):
        return f"({exc.args[0]}) {' '.join(str(exc.args[1]).split())}"
    return " ".join(str(exc).split()) or type(exc).__name__
