"""Verified backups: dump with the server's own tool, prove the dump restores, restore it in an emergency.

A backup is two files in the backup directory, both 0600:
``<database>-<label>.sql.gz`` (the dump of ``mariadb-dump``/``mysqldump``, gzip-compressed by
Python as it streams) and ``<database>-<label>.manifest.json`` (what the dump must contain: per-table
row counts and row checksums, the migrations tables' rows, the schema fingerprint, the file's
sha256). ``verify_backup`` restores the dump into a scratch database and compares it with the
manifest; only then is the manifest marked ``verified``. ``restore_backup`` only accepts a verified
backup, restores it into a scratch database, verifies it again and swaps all tables into production
with one atomic ``RENAME TABLE``, moving the previous tables aside instead of dropping them.

Credentials never reach argv: the dump tool reads them from a 0600 option file in a private
temporary directory, removed whatever happens.

Consistency: the manifest's figures are taken in a consistent-snapshot transaction started next
to the dump's own (``--single-transaction``). The two snapshots only agree if nothing commits
between them, so by default writes are paused for that instant: a ``LOCK TABLES ... READ`` is held
from just before our snapshot until the dump has started its own (its first table header arrives),
typically tens of milliseconds. With ``snapshot_lock_timeout=0`` there is no pause; a database
receiving writes during the backup can then fail verification (a safe failure: the deploy aborts).
"""
from __future__ import annotations

import collections
import copy
import datetime
import hashlib
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from decimal import Decimal
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from .catalog import diff_tables, fingerprint, schema_fingerprint
from .clone import MARKER_TABLE, check_scratch_target, create_scratch, drop_scratch, scratch_name
from .compression import READ_ERRORS, compressor_name, gzip_member, open_gzip
from .connection import ConnectionParams, MySQLError, connect, error_text, quote_identifier, validate_identifier
from .deploy_lock import LOCK_TABLE
from .dialect import ServerInfo
from .errors import SchemagateError
from .sql_script import split_statements

MANIFEST_FORMAT = 1
MIGRATION_TABLES = ("migrations", "schemagate_migrations")
DUMP_OPTIONS = (
    "--single-transaction",
    "--routines",
    "--triggers",
    "--events",
    "--hex-blob",
    "--default-character-set=utf8mb4",
    "--skip-lock-tables",
)
# Level 1: the dump still shrinks ~3x; with ISA-L installed it is also ~4x faster than zlib's level 1 (see compression.py).
GZIP_LEVEL = 1
RESTORE_WORKERS = 2
# How long the swap of an emergency restore waits for metadata locks held by the application.
SWAP_LOCK_WAIT_SECONDS = 30
# Operational state of the running deploy, not application data: a restore leaves it in production
# (bringing back the lock row of backup time would hand the deploy lock to an old run).
STAYS_IN_PRODUCTION = (LOCK_TABLE,)

_LABEL = re.compile(r"^[A-Za-z0-9_]{1,40}$")
_CHUNK = 1 << 20
_GZIP_BLOCK = 4 << 20
_READ_CHUNK = 4 << 20
# The first output of the dump that comes after its START TRANSACTION WITH CONSISTENT SNAPSHOT.
_AFTER_SNAPSHOT_MARKERS = (
    b"\n-- Table structure for table ",
    b"\n-- Temporary table structure for view ",
    b"\n-- Dumping events for database ",
    b"\n-- Dumping routines for database ",
    b"\n-- Final view structure for view ",
)
_DUMP_COMPLETED = b"-- Dump completed"
# MariaDB 10.11.8+ dumps start with this line, a command for the mariadb client only.
_SANDBOX_LINE = b"/*M!999999\\- enable the sandbox mode */"
_DELIMITER_LINE = re.compile(rb"^\s*DELIMITER\s+(\S+)\s*$", re.IGNORECASE)
_EXECUTABLE_COMMENT = re.compile(r"/\*M?!\d*\s?|\*/")
_DEFINER = re.compile(r"\s*\bDEFINER\s*=\s*(?:`[^`]*`(?:\s*@\s*`[^`]*`)?|'[^']*'(?:\s*@\s*'[^']*')?|CURRENT_USER(?:\(\))?)", re.IGNORECASE)
_NAME = r"`((?:[^`]|``)+)`|([A-Za-z0-9_$]+)"
_STATEMENT_KINDS = (
    ("insert", re.compile(r"^INSERT\s+INTO\b", re.IGNORECASE)),
    ("session", re.compile(r"^SET\b", re.IGNORECASE)),
    ("skip", re.compile(r"^(?:LOCK\s+TABLES|UNLOCK\s+TABLES|ALTER\s+TABLE\s+\S+\s+(?:DISABLE|ENABLE)\s+KEYS)\b", re.IGNORECASE)),
    ("table", re.compile(r"^(?:CREATE|DROP)\s+(?:TEMPORARY\s+)?TABLE\b", re.IGNORECASE)),
    ("view", re.compile(rf"^CREATE\s+(?:OR\s+REPLACE\s+)?(?:ALGORITHM\s*=\s*\w+\s+)?(?:SQL\s+SECURITY\s+\w+\s+)?VIEW\s+(?:{_NAME})", re.IGNORECASE)),
    ("trigger", re.compile(rf"^CREATE\s+TRIGGER\s+(?:{_NAME})", re.IGNORECASE)),
    ("routine", re.compile(rf"^CREATE\s+(?:PROCEDURE|(?:AGGREGATE\s+)?FUNCTION)\s+(?:{_NAME})", re.IGNORECASE)),
    ("event", re.compile(rf"^CREATE\s+EVENT\s+(?:{_NAME})", re.IGNORECASE)),
    ("drop_object", re.compile(r"^DROP\s+(?:VIEW|TRIGGER|PROCEDURE|FUNCTION|EVENT)\b", re.IGNORECASE)),
    ("database", re.compile(r"^ALTER\s+(?:DATABASE|SCHEMA)\b", re.IGNORECASE)),
    ("forbidden", re.compile(r"^(?:USE\b|(?:CREATE|DROP)\s+(?:DATABASE|SCHEMA)\b|CHANGE\s+MASTER\b|RESET\b)", re.IGNORECASE)),
)
_OBJECT_KINDS = ("view", "trigger", "routine", "event", "drop_object")
_TABLE_NAME = re.compile(rf"^(?:CREATE|DROP)\s+(?:TEMPORARY\s+)?TABLE\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?(?:{_NAME})", re.IGNORECASE)


# --------------------------------------------------------------------------
# Names, files, manifests
# --------------------------------------------------------------------------

def default_label() -> str:
    """A UTC timestamp such as 20261124T130500Z: sorts in time order and is a valid name part."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def validate_label(label: str) -> str:
    if not isinstance(label, str) or not _LABEL.match(label):
        raise SchemagateError(f"Invalid backup label {label!r}: use 1-40 letters, digits or '_' (it names files and a scratch database).")
    return label


def backup_paths(backup_dir: str, database: str, label: str) -> Tuple[str, str]:
    """(dump file, manifest file) of one backup."""
    validate_identifier(database, "database name")
    validate_label(label)
    return (
        os.path.join(backup_dir, f"{database}-{label}.sql.gz"),
        os.path.join(backup_dir, f"{database}-{label}.manifest.json"),
    )


def load_manifest(path: str) -> Dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            manifest = json.load(handle)
    except OSError as exc:
        raise SchemagateError(f"Cannot read backup manifest {path}: {exc.strerror or exc}.") from None
    except ValueError:
        raise SchemagateError(f"Backup manifest {path} is not valid JSON: restore it from a copy or take a new backup.") from None
    missing = [key for key in ("format", "database", "label", "file", "sha256", "tables", "schema") if key not in manifest]
    if not isinstance(manifest, dict) or missing:
        raise SchemagateError(f"Backup manifest {path} is incomplete (missing {', '.join(missing) or 'everything'}): it was not written by schemagate.")
    return manifest


def dump_file_of(manifest_path: str, manifest: Dict[str, Any]) -> str:
    """The dump file next to its manifest (the manifest stores the base name, so a backup directory can move)."""
    return os.path.join(os.path.dirname(os.path.abspath(manifest_path)), os.path.basename(manifest["file"]))


def write_private_json(path: str, data: Dict[str, Any]) -> None:
    """Write ``data`` to ``path`` atomically, mode 0600 (a reader never sees half a manifest)."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".manifest-", suffix=".tmp")  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, default=_json_value)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        _remove(temporary)
        raise
    _fsync_directory(directory)


def _json_value(value: Any) -> Any:
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return str(value)


def _plain_value(value: Any) -> Any:
    return value if value is None or isinstance(value, (bool, int, float, str)) else _json_value(value)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _fsync_directory(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems cannot sync a directory; the files themselves are synced
    finally:
        os.close(fd)


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_READ_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_backup_file(manifest_path: str, manifest: Dict[str, Any]) -> str:
    """The dump file's path, once its sha256 is the manifest's; raise naming the mismatch otherwise."""
    path = dump_file_of(manifest_path, manifest)
    if not os.path.isfile(path):
        raise SchemagateError(f"Backup file {path} is missing: the manifest {manifest_path} has no dump to restore.")
    actual = file_sha256(path)
    if actual != manifest["sha256"]:
        raise SchemagateError(
            f"Backup file {path} is corrupt: its sha256 is {actual}, the manifest says {manifest['sha256']} (sha256 mismatch); "
            "use another backup."
        )
    return path


# --------------------------------------------------------------------------
# Preflight: directory, free space, dump tool
# --------------------------------------------------------------------------

def find_dump_tool(server: ServerInfo) -> str:
    for name in server.dump_tools:
        found = shutil.which(name)
        if found:
            return found
    raise SchemagateError(
        f"No dump tool found ({' or '.join(server.dump_tools)}) on the host that runs the backup: "
        f"install the {'MariaDB' if server.is_mariadb else 'MySQL'} client programs."
    )


def tool_version(tool: str) -> str:
    try:
        done = subprocess.run([tool, "--version"], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise SchemagateError(f"Cannot run {tool} --version: {exc}.") from None
    return " ".join((done.stdout or done.stderr).split())


def estimate_bytes(conn: Any, database: str) -> int:
    """DATA_LENGTH + INDEX_LENGTH of the database: an upper bound of what its dump needs."""
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (database,))
        if cur.fetchone() is None:
            raise SchemagateError(f"Unknown database {database!r}: check the database name (or the account's privileges).")
        cur.execute(
            "SELECT COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0) FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE'",
            (database,),
        )
        return int(cur.fetchone()[0])


def _existing_ancestor(path: str) -> str:
    path = os.path.abspath(path)
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def _check_directory(backup_dir: str) -> str:
    """The directory (or its nearest existing ancestor) whose filesystem will hold the backup."""
    if os.path.lexists(backup_dir) and not os.path.isdir(backup_dir):
        raise SchemagateError(f"Backup directory {backup_dir} is not a directory: choose another backup_dir.")
    existing = backup_dir if os.path.isdir(backup_dir) else _existing_ancestor(backup_dir)
    if not os.path.isdir(existing):
        raise SchemagateError(f"Cannot create backup directory {backup_dir}: {existing} is not a directory; choose another backup_dir.")
    return existing


def _make_directory(backup_dir: str) -> None:
    """Create the directory (0700) and prove a file can be created in it."""
    try:
        os.makedirs(backup_dir, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise SchemagateError(f"Cannot create backup directory {backup_dir}: {exc.strerror or exc}; create it or choose another backup_dir.") from None
    try:
        tempfile.TemporaryFile(dir=backup_dir).close()  # the real test: access() says yes to root on places nobody can write
    except OSError as exc:
        raise SchemagateError(
            f"Backup directory {backup_dir} is not writable ({exc.strerror or exc}): fix its permissions or choose another backup_dir."
        ) from None


def preflight(
    conn: Any,
    server: ServerInfo,
    database: str,
    backup_dir: str,
    label: str,
    min_free_ratio: float = 1.0,
    create: bool = True,
) -> Dict[str, Any]:
    """Everything that can refuse a backup, before anything is written.

    With ``create`` the directory is then created and probed; without it (check mode) nothing changes.
    """
    dump_file, manifest_file = backup_paths(backup_dir, database, label)
    if min_free_ratio < 0:
        raise SchemagateError(f"min_free_ratio must be >= 0, got {min_free_ratio}.")
    estimate = estimate_bytes(conn, database)
    existing = _check_directory(backup_dir)
    stats = os.statvfs(existing)
    free = stats.f_bavail * stats.f_frsize
    required = int(estimate * min_free_ratio)
    if free < required:
        raise SchemagateError(
            f"Not enough free space for the backup in {backup_dir}: {_size(free)} free, {_size(required)} required "
            f"({_size(estimate)} of data and indexes x min_free_ratio {min_free_ratio}); free space or lower min_free_ratio."
        )
    for path in (dump_file, manifest_file):
        if os.path.lexists(path):
            raise SchemagateError(f"Backup {path} already exists: choose another label.")
    tool = find_dump_tool(server)
    creates_directory = not os.path.isdir(backup_dir)
    if create:
        _make_directory(backup_dir)
    elif not os.access(existing, os.W_OK | os.X_OK):
        raise SchemagateError(f"Backup directory {backup_dir} is not writable: fix its permissions or choose another backup_dir.")
    return {
        "backup_dir": backup_dir,
        "creates_directory": creates_directory,
        "dump_file": dump_file,
        "manifest_file": manifest_file,
        "estimate_bytes": estimate,
        "free_bytes": free,
        "required_bytes": required,
        "dump_tool": tool,
    }


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(count) < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return str(count)


# --------------------------------------------------------------------------
# Credentials for client programs
# --------------------------------------------------------------------------

def _read_client_group(path: str) -> Dict[str, str]:
    """The [client] group of an option file, read the way PyMySQL reads it (so both tools connect alike)."""
    import configparser  # pylint: disable=import-outside-toplevel

    parser = configparser.RawConfigParser(allow_no_value=True, strict=False)
    parser.optionxform = lambda key: key.lower().replace("_", "-")  # type: ignore[assignment,method-assign]
    try:
        with open(os.path.expanduser(path), encoding="utf-8") as handle:
            parser.read_file(handle)
    except OSError as exc:
        raise SchemagateError(f"Cannot read config_file {path}: {exc.strerror or exc}.") from None
    except configparser.Error as exc:
        # The parser's message may quote a line of the file, which may hold a password.
        raise SchemagateError(f"Cannot read config_file {path}: not a valid option file ({type(exc).__name__}).") from None
    if not parser.has_section("client"):
        return {}
    values = {}
    for key, value in parser.items("client"):
        if value is None:
            continue
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def _option_value(value: Any) -> str:
    """A value quoted for a MySQL option file: '#', quotes, spaces and backslashes survive."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{text}"'


def client_options(params: ConnectionParams, server: ServerInfo) -> List[str]:
    """[client] lines that reach the server and account PyMySQL reaches with ``params``."""
    merged = _read_client_group(params.config_file) if params.config_file else {}
    explicit = {
        "user": params.user,
        "password": params.password,
        "host": params.host,
        "port": params.port,
        "socket": params.unix_socket,
        "ssl-ca": params.ca_cert,
        "ssl-cert": params.client_cert,
        "ssl-key": params.client_key,
    }
    merged.update({key: value for key, value in explicit.items() if value not in (None, "")})
    lines = ["[client]"]
    for key in ("user", "password", "ssl-ca", "ssl-capath", "ssl-cert", "ssl-key", "ssl-cipher"):
        if merged.get(key) not in (None, ""):
            lines.append(f"{key}={_option_value(merged[key])}")
    if merged.get("socket"):
        # PyMySQL uses the socket whenever one is given; the client tools would prefer a host.
        lines += [f"socket={_option_value(merged['socket'])}", "protocol=SOCKET"]
    else:
        # PyMySQL always uses TCP without a socket; for "localhost" the client tools would use their default socket.
        lines += [f"host={_option_value(merged.get('host') or 'localhost')}", "protocol=TCP"]
        if merged.get("port"):
            lines.append(f"port={int(merged['port'])}")
    lines += list(server.client_tls_options(bool(merged.get("ssl-ca") or merged.get("ssl-capath")), params.check_hostname))
    return lines


def write_client_option_file(params: ConnectionParams, server: ServerInfo, directory: str) -> str:
    """A 0600 option file holding the credentials, so they never go on a command line."""
    path = os.path.join(directory, "client.cnf")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(client_options(params, server)) + "\n")
    return path


def client_environment(private_dir: str) -> Dict[str, str]:
    """The environment for client programs: no MYSQL_PWD/MYSQL_HOST & co. overriding the option file.

    MySQL's tools also read ~/.mylogin.cnf even with --defaults-file; point them at a file that does not exist.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MYSQL_", "MARIADB_"))}
    env["MYSQL_TEST_LOGIN_FILE"] = os.path.join(private_dir, "no-login-path")
    return env


def dump_command(tool: str, option_file: str, server: ServerInfo, database: str) -> List[str]:
    """argv of the dump: the option file first (the tools require it), the database last, no secret anywhere.

    --defaults-file, not --defaults-extra-file: with the extra file, ~/.my.cnf would still be read
    after ours and could silently switch the account or the host.
    """
    validate_identifier(database, "database name")
    return [tool, f"--defaults-file={option_file}", *DUMP_OPTIONS, *server.dump_flavor_options, database]


# --------------------------------------------------------------------------
# Row figures: what the manifest promises and the verification checks
# --------------------------------------------------------------------------

def _quote_any(name: str) -> str:
    """Quote a name read from the catalog (tables and columns may use characters our own names may not)."""
    return "`" + name.replace("`", "``") + "`"


def base_tables(conn: Any, database: str, exclude: Sequence[str] = ()) -> List[str]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
            (database,),
        )
        return [name for (name,) in cur.fetchall() if name not in exclude]


def table_figures(conn: Any, database: str, tables: Sequence[str]) -> Dict[str, Dict[str, Optional[int]]]:
    """Exact row count (COUNT(*)) and CHECKSUM TABLE of each table, read in the connection's current snapshot.

    Measured on MariaDB 10.11 (InnoDB): inside START TRANSACTION WITH CONSISTENT SNAPSHOT, CHECKSUM TABLE
    reads the snapshot like a SELECT does (updates, deletes and inserts committed by others after the
    snapshot do not change it), so it describes the same data as the dump. At 250,000 rows it costs
    0.13 s against 0.45 s for a SUM(CRC32(CONCAT_WS(...))) per table (2.1 s against 4.9 s at 3 million
    rows), and the backup runs it next to the dump and the compression on the same cores. Its value
    depends on the server version and the tables' storage format; a backup is verified and restored
    on the server it was taken from, and ``compare`` only compares checksums from the same version.
    """
    figures: Dict[str, Dict[str, Optional[int]]] = {}
    if not tables:
        return figures
    schema = quote_identifier(database)
    with conn.cursor() as cur:
        cur.execute("CHECKSUM TABLE " + ", ".join(f"{schema}.{_quote_any(table)}" for table in tables))
        checksums = {str(name).split(".", 1)[1]: value for name, value in cur.fetchall()}
        for table in tables:
            cur.execute(f"SELECT COUNT(*) FROM {schema}.{_quote_any(table)}")
            figures[table] = {"rows": int(cur.fetchone()[0]), "checksum": None if checksums.get(table) is None else int(checksums[table])}
    return figures


def migration_rows(conn: Any, database: str, tables: Sequence[str]) -> Dict[str, List[Dict[str, Any]]]:
    """The rows of the migrations bookkeeping tables that exist, in id order."""
    rows: Dict[str, List[Dict[str, Any]]] = {}
    with conn.cursor() as cur:
        for table in MIGRATION_TABLES:
            if table not in tables:
                continue
            cur.execute(f"SELECT * FROM {quote_identifier(database)}.{quote_identifier(table)} ORDER BY 1")
            names = [column[0] for column in cur.description]
            rows[table] = [{name: _plain_value(value) for name, value in zip(names, record)} for record in cur.fetchall()]
    return rows


def portable_fingerprint(structure: Dict[str, Any], database: str) -> str:
    """The schema fingerprint with the database's own name taken out of view/trigger/routine bodies.

    information_schema qualifies view bodies with the database name, so the same view reads
    differently in production and in the scratch database a backup is restored into.
    """
    own = f"`{database}`."
    portable = copy.deepcopy(dict(structure))
    for kind in ("views", "triggers", "routines"):
        portable[kind] = {name: body.replace(own, "") for name, body in portable.get(kind, {}).items()}
    return fingerprint(portable)


def read_schema(conn: Any, database: str, server: ServerInfo) -> Dict[str, Any]:
    found = schema_fingerprint(conn, database, server)
    return {
        "fingerprint": found["fingerprint"],
        "portable_fingerprint": portable_fingerprint(found["structure"], database),
        "structure": found["structure"],
    }


class _Snapshot:
    """The manifest's figures, read in a snapshot aligned with the dump's (see the module docstring)."""

    def __init__(self, params: ConnectionParams, database: str, lock_timeout: int) -> None:
        self.database = database
        self.lock_timeout = lock_timeout
        self.snapshot = connect(params, database)
        try:
            self.locker = connect(params, database) if lock_timeout > 0 else None
        except BaseException:
            self.snapshot.close()
            raise
        self.paused_at: Optional[float] = None
        self.pause_ms: Optional[float] = None
        self.result: Dict[str, Any] = {}
        self.error: Optional[BaseException] = None
        self._thread: Optional[threading.Thread] = None

    def begin(self, tables: Sequence[str]) -> None:
        """Pause writes (if asked) and start our snapshot; the caller starts the dump right after."""
        if self.locker is not None and tables:
            with self.locker.cursor() as cur:
                cur.execute(f"SET SESSION lock_wait_timeout = {int(self.lock_timeout)}")
                try:
                    cur.execute("LOCK TABLES " + ", ".join(f"{_quote_any(table)} READ" for table in tables))
                except MySQLError as exc:
                    raise SchemagateError(
                        f"Could not pause writes to {self.database!r} for {self.lock_timeout} s to align the backup's snapshots "
                        f"({error_text(exc)}): a long transaction holds its tables; retry when it ends, or set snapshot_lock_timeout: 0."
                    ) from None
            self.paused_at = time.monotonic()
        with self.snapshot.cursor() as cur:
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")

    def resume_writes(self) -> None:
        if self.paused_at is not None:
            with self.locker.cursor() as cur:  # type: ignore[union-attr]
                cur.execute("UNLOCK TABLES")
            self.pause_ms = round((time.monotonic() - self.paused_at) * 1000, 1)
            self.paused_at = None

    def read_in_background(self, tables: Sequence[str]) -> None:
        self._thread = threading.Thread(target=self._read, args=(list(tables),), name="schemagate-backup-figures", daemon=True)
        self._thread.start()

    def _read(self, tables: List[str]) -> None:
        try:
            self.result = {
                "tables": table_figures(self.snapshot, self.database, tables),
                "migrations": migration_rows(self.snapshot, self.database, tables),
            }
            self.snapshot.commit()
        except BaseException as exc:  # pylint: disable=broad-exception-caught  # re-raised by the caller
            self.error = exc

    def figures(self) -> Dict[str, Any]:
        if self._thread is not None:
            self._thread.join()
        if isinstance(self.error, MySQLError):
            raise SchemagateError(f"Reading the row figures of {self.database!r} failed: {error_text(self.error)}")
        if self.error is not None:
            raise self.error
        return self.result

    def close(self) -> None:
        try:
            self.resume_writes()
        finally:
            for conn in (self.locker, self.snapshot):
                if conn is not None:
                    try:
                        conn.close()
                    except Exception:  # pylint: disable=broad-exception-caught  # already broken; nothing to release
                        pass
            if self._thread is not None:
                self._thread.join(timeout=30)


# --------------------------------------------------------------------------
# Taking a backup
# --------------------------------------------------------------------------

class _ParallelGzip:
    """Compress a stream as consecutive gzip members on a few threads, written in order.

    zlib and ISA-L release the GIL, so blocks compress on several cores (like pigz) while the dump
    keeps producing. A file of several members is plain gzip: gzip -d, zcat and Python read it whole.
    """

    def __init__(self, writer: "_HashingWriter", level: int = GZIP_LEVEL, threads: int = 0, block_size: int = _GZIP_BLOCK) -> None:
        self.writer = writer
        self.level = level
        self.threads = threads or max(1, min(4, os.cpu_count() or 1))
        self.block_size = block_size
        self.pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="schemagate-gzip")
        self.pending: "collections.deque[Future[bytes]]" = collections.deque()
        self.chunks: List[bytes] = []
        self.buffered = 0
        self.members = 0

    def write(self, data: bytes) -> None:
        """Queue ``data``; once a block's worth is buffered it goes to a thread (one copy: the join)."""
        self.chunks.append(data)
        self.buffered += len(data)
        if self.buffered >= self.block_size:
            self._submit(b"".join(self.chunks))
            self.chunks, self.buffered = [], 0

    def _submit(self, block: bytes) -> None:
        self.pending.append(self.pool.submit(gzip_member, block, self.level))
        self.members += 1
        while len(self.pending) > 2 * self.threads:  # bounded memory: a few blocks in flight
            self.writer.write(self.pending.popleft().result())

    def close(self) -> None:
        """Compress what is left and write every member (an empty stream still gets one, valid, member)."""
        try:
            if self.chunks or not self.members:
                self._submit(b"".join(self.chunks))
                self.chunks, self.buffered = [], 0
            while self.pending:
                self.writer.write(self.pending.popleft().result())
        finally:
            self.abort()

    def abort(self) -> None:
        for future in self.pending:
            future.cancel()
        self.pending.clear()
        self.pool.shutdown(wait=True)


class _WriteError(Exception):
    """Writing the backup file failed (disk full, I/O error)."""


class _HashingWriter:
    """The file under the gzip stream: hashes what is written and tells write errors apart."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        try:
            self.handle.write(data)
        except OSError as exc:
            raise _WriteError(exc.strerror or str(exc)) from exc
        self.digest.update(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        try:
            self.handle.flush()
        except OSError as exc:
            raise _WriteError(exc.strerror or str(exc)) from exc


def _enlarge_pipe(pipe: Any) -> None:
    """A 1 MiB pipe instead of 64 KiB: fewer wake-ups between the dump and the compressor (Linux only)."""
    try:
        import fcntl  # pylint: disable=import-outside-toplevel

        fcntl.fcntl(pipe.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), _CHUNK)
    except (ImportError, OSError):
        pass


def _dump_failure(tool: str, returncode: int, stderr: str, tail: bytes) -> Optional[str]:
    """Why a finished dump is not usable, or None. Warnings alone are fine."""
    name = os.path.basename(tool)
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if re.search(r"\berror\b|couldn't|can't|cannot|denied|unknown", line, re.IGNORECASE)]
    if returncode < 0:
        try:
            signame = signal.Signals(-returncode).name
        except ValueError:
            signame = f"signal {-returncode}"
        return f"{name} was killed by {signame}" + (f": {errors[0]}" if errors else "")
    if returncode != 0:
        return f"{name} failed (exit {returncode}): {(errors or lines or ['no error message'])[0]}"
    if errors:
        return f"{name} reported an error: {errors[0]}"
    if _DUMP_COMPLETED not in tail:
        return f"{name} output ended without its '-- Dump completed' line (the dump is incomplete)"
    return None


def take_backup(
    params: ConnectionParams,
    conn: Any,
    server: ServerInfo,
    database: str,
    backup_dir: str,
    label: Optional[str] = None,
    min_free_ratio: float = 1.0,
    snapshot_lock_timeout: int = 5,
    compress_level: int = GZIP_LEVEL,
    on_dump_start: Optional[Callable[["subprocess.Popen[bytes]"], None]] = None,
) -> Dict[str, Any]:
    """Dump ``database`` into ``backup_dir`` and write its manifest (``verified: false``).

    Returns ``{"backup_file", "manifest_file", "manifest"}``. Nothing is left behind on failure.
    ``compress_level`` is gzip's (0 stores without compressing: 3x the disk); levels 1-3 use ISA-L when installed.
    ``on_dump_start`` is called with the running dump process (tests use it).
    """
    label = validate_label(label or default_label())
    if not 0 <= compress_level <= 9:
        raise SchemagateError(f"compress_level must be 0-9 (gzip's levels), got {compress_level}.")
    plan = preflight(conn, server, database, backup_dir, label, min_free_ratio, create=True)
    tool = plan["dump_tool"]
    version = tool_version(tool)
    tables = base_tables(conn, database)
    started_utc, started = _utc_now(), time.monotonic()
    private_dir = tempfile.mkdtemp(prefix="schemagate-backup-")  # 0700
    partial = plan["dump_file"] + ".partial"
    try:
        option_file = write_client_option_file(params, server, private_dir)
        snapshot = _Snapshot(params, database, snapshot_lock_timeout)
        try:
            snapshot.begin(tables)
            written = _run_dump(
                dump_command(tool, option_file, server, database), partial, private_dir, snapshot, tables, compress_level, on_dump_start
            )
            figures = snapshot.figures()
        finally:
            snapshot.close()
        manifest = {
            "format": MANIFEST_FORMAT,
            "database": database,
            "label": label,
            "server": {"flavor": server.flavor, "version": server.version_string, "label": server.label},
            "dump_tool": {"name": os.path.basename(tool), "path": tool, "version": version},
            "dump_options": [*DUMP_OPTIONS, *server.dump_flavor_options],
            "compress_level": compress_level,
            "compressor": compressor_name(compress_level),
            "started_utc": started_utc,
            "finished_utc": _utc_now(),
            "seconds": round(time.monotonic() - started, 3),
            "file": os.path.basename(plan["dump_file"]),
            "size_bytes": written["size"],
            "sha256": written["sha256"],
            "estimate_bytes": plan["estimate_bytes"],
            "consistency": {
                "figures": "COUNT(*) and CHECKSUM TABLE, read in a consistent snapshot started next to the dump's",
                "writes_paused_ms": snapshot.pause_ms,
            },
            "dump_warnings": written["warnings"],
            "migrations": figures["migrations"],
            "tables": figures["tables"],
            "schema": read_schema(conn, database, server),
            "verified": False,
            "verification": None,
        }
        os.replace(partial, plan["dump_file"])
        write_private_json(plan["manifest_file"], manifest)  # last: a manifest always has its dump
    except BaseException:
        _remove(partial)
        _remove(plan["dump_file"])  # preflight made sure it did not exist before
        raise
    finally:
        shutil.rmtree(private_dir, ignore_errors=True)
    return {"backup_file": plan["dump_file"], "manifest_file": plan["manifest_file"], "manifest": manifest}


def _run_dump(  # pylint: disable=too-many-positional-arguments
    command: List[str],
    partial: str,
    private_dir: str,
    snapshot: _Snapshot,
    tables: Sequence[str],
    compress_level: int,
    on_dump_start: Optional[Callable[["subprocess.Popen[bytes]"], None]],
) -> Dict[str, Any]:
    """Stream the dump through gzip into ``partial``; return its size, sha256 and warnings."""
    name = os.path.basename(command[0])
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise SchemagateError(f"Cannot create {partial}: {exc.strerror or exc}; check the backup directory.") from None
    stderr_path = os.path.join(private_dir, "dump.stderr")
    with os.fdopen(fd, "wb") as raw, open(stderr_path, "wb") as stderr_file:
        writer = _HashingWriter(raw)
        try:
            process = subprocess.Popen(  # pylint: disable=consider-using-with  # waited for below, killed on any error
                command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr_file,
                env=client_environment(private_dir), bufsize=0,
            )
        except OSError as exc:
            raise SchemagateError(f"Cannot start {name}: {exc.strerror or exc}.") from None
        try:
            if on_dump_start is not None:
                on_dump_start(process)
            _enlarge_pipe(process.stdout)
            tail = _stream(process, _ParallelGzip(writer, compress_level), snapshot, tables)
            returncode = process.wait()
            raw.flush()
            os.fsync(raw.fileno())
        except _WriteError as exc:
            raise SchemagateError(
                f"Writing the backup to {partial} failed: {exc}; free space in {os.path.dirname(partial)} "
                "and retry (the partial file was removed)."
            ) from None
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
            if process.stdout is not None:
                process.stdout.close()
    with open(stderr_path, encoding="utf-8", errors="replace") as handle:
        stderr = handle.read()
    failure = _dump_failure(command[0], returncode, stderr, tail)
    if failure:
        raise SchemagateError(f"{failure}; nothing was kept (the partial backup file was removed).")
    warnings = [line.strip() for line in stderr.splitlines() if line.strip()]
    return {"size": writer.size, "sha256": writer.digest.hexdigest(), "warnings": warnings}


def _stream(process: "subprocess.Popen[bytes]", compressed: _ParallelGzip, snapshot: _Snapshot, tables: Sequence[str]) -> bytes:
    """Copy the dump's output through gzip into the file; resume writes once the dump has its snapshot."""
    stdout = process.stdout
    if stdout is None:  # Popen was not given stdout=PIPE: a programming error, not a user one
        raise RuntimeError("the dump process has no stdout pipe")
    waiting_for_snapshot = True
    tail = b""
    try:
        while True:
            chunk = stdout.read(_CHUNK)
            if not chunk:
                break
            compressed.write(chunk)
            if waiting_for_snapshot and any(marker in tail + chunk for marker in _AFTER_SNAPSHOT_MARKERS):
                waiting_for_snapshot = False
                snapshot.resume_writes()
                snapshot.read_in_background(tables)
            tail = (tail + chunk[-256:])[-256:]  # the end of the dump, for its '-- Dump completed' line
        compressed.close()
    finally:
        compressed.abort()
    if waiting_for_snapshot:  # an empty dump: still release and read
        snapshot.resume_writes()
        snapshot.read_in_background(tables)
    return tail


# --------------------------------------------------------------------------
# Reading a dump back: statements, in order, streamed
# --------------------------------------------------------------------------

def iter_dump_statements(path: str) -> Iterator[Tuple[bool, Any]]:
    """Yield ``(is_insert, statement)`` for each statement of a gzip-compressed dump, in order.

    INSERT statements come as bytes, found with one search for ``;\\n``: a dump escapes newlines in
    data, so that sequence can only end the statement. Everything else (DDL, SET, routines with
    DELIMITER) goes through ``sql_script.split_statements`` as text, region by region. An INSERT is
    recognised only at a statement boundary under the ``;`` delimiter, so a routine body holding
    ``INSERT INTO`` lines stays inside its routine.
    """
    with open_gzip(path) as source:
        buffer = b""
        position = 0
        eof = False
        delimiter = b";"
        at_boundary = True
        pending: List[bytes] = []
        first_line = True

        def more() -> bool:
            nonlocal buffer, position, eof
            chunk = source.read(_READ_CHUNK)
            if not chunk:
                eof = True
                return False
            buffer = buffer[position:] + chunk
            position = 0
            return True

        def flushed() -> Iterator[Tuple[bool, Any]]:
            if pending:
                text = b"".join(pending).decode("utf-8", "surrogateescape")
                pending.clear()
                for statement in split_statements(text, path):
                    yield False, statement.sql

        while True:
            newline = buffer.find(b"\n", position)
            if newline == -1:
                if more():
                    continue
                if position < len(buffer):
                    pending.append(buffer[position:])
                    position = len(buffer)
                break
            if at_boundary and delimiter == b";" and buffer.startswith(b"INSERT INTO ", position):
                yield from flushed()
                end = buffer.find(b";\n", position)
                while end == -1 and more():
                    end = buffer.find(b";\n", position)
                if end == -1:
                    raise SchemagateError(f"{path}: the dump ends inside an INSERT statement: the file is truncated.")
                yield True, buffer[position:end]
                position = end + 2
                continue
            line = buffer[position:newline + 1]
            position = newline + 1
            if first_line and line.startswith(_SANDBOX_LINE):
                first_line = False
                continue
            first_line = False
            pending.append(line)
            stripped = line.strip()
            match = _DELIMITER_LINE.match(stripped)
            if match:
                delimiter = match.group(1)
                at_boundary = True
            elif stripped and not stripped.startswith(b"--"):
                at_boundary = stripped.endswith(delimiter)
        yield from flushed()


def _plain(sql: str) -> str:
    """A statement without executable-comment markers and DEFINER, on one line: for classification only."""
    return " ".join(_DEFINER.sub(" ", _EXECUTABLE_COMMENT.sub(" ", sql), count=1).split())


def classify(sql: str) -> Tuple[str, Optional[str]]:
    """(kind, object name) of a dump statement; kind is one of the _STATEMENT_KINDS or 'other'."""
    plain = _plain(sql)
    for kind, pattern in _STATEMENT_KINDS:
        match = pattern.match(plain)
        if match:
            groups = [group for group in match.groups() if group] if match.groups() else []
            return kind, (groups[0].replace("``", "`") if groups else None)
    return "other", None


def _without_definer(sql: str) -> str:
    """The deploy account cannot create objects for another definer (that needs SUPER/SET USER); it becomes the definer."""
    return _DEFINER.sub("", sql, count=1)


def _for_database(sql: str, kind: str, source: str, target: str, path: str) -> str:
    """A statement made safe to run in ``target``: nothing in a dump may touch another database."""
    if kind == "forbidden":
        raise SchemagateError(
            f"{path}: the dump contains '{_plain(sql)[:60]}', which would leave the restore's database: "
            "only dumps of one database without --databases are restored."
        )
    if kind == "database":
        quoted = f"`{source}`"
        if quoted not in sql:
            raise SchemagateError(f"{path}: the dump alters another database ('{_plain(sql)[:60]}'): refusing to restore it.")
        return sql.replace(quoted, f"`{target}`", 1)
    if kind in ("view", "trigger", "routine", "event"):
        return _without_definer(sql)
    return sql


_BODY_LINE = re.compile(r"^  (?:`|PRIMARY KEY|UNIQUE KEY|KEY|FULLTEXT KEY|SPATIAL KEY|CONSTRAINT|INDEX|PERIOD|SYSTEM)")
_SECONDARY_KEY = re.compile(r"^  (?:UNIQUE )?KEY `(?:[^`]|``)+` \(")
_FOREIGN_KEY = re.compile(r"^  CONSTRAINT `(?:[^`]|``)+` FOREIGN KEY ")
_AUTO_INCREMENT_COLUMN = re.compile(r"^  (`(?:[^`]|``)+`) .*\bAUTO_INCREMENT\b")


def defer_secondary_keys(create: str) -> Tuple[str, List[str], List[str]]:
    """A dumped CREATE TABLE without its secondary keys and foreign keys, plus the clauses that add them back.

    Loading rows into a table that has only its primary key, then building each secondary index in
    one sorted pass, is much faster than maintaining every index row by row (myloader's
    --innodb-optimize-keys does the same). Returns ``(create, key_clauses, foreign_key_clauses)``.
    Anything the parser does not recognise line by line (and tables whose AUTO_INCREMENT column
    needs a secondary key) is left exactly as dumped, with nothing deferred.
    """
    lines = create.split("\n")
    close = next((index for index, line in enumerate(lines) if line.startswith(")")), None)
    if close is None or close < 2 or not lines[0].rstrip().endswith("("):
        return create, [], []
    body = [line[:-1] if line.endswith(",") else line for line in lines[1:close]]
    if not all(_BODY_LINE.match(line) for line in body):
        return create, [], []
    keys = [line for line in body if _SECONDARY_KEY.match(line)]
    foreign = [line for line in body if _FOREIGN_KEY.match(line)]
    if not keys and not foreign:
        return create, [], []
    auto = next((match.group(1) for match in map(_AUTO_INCREMENT_COLUMN.match, body) if match), None)
    if auto and not any(line.startswith(f"  PRIMARY KEY ({auto}") for line in body):
        return create, [], []
    kept = [line for line in body if line not in keys and line not in foreign]
    rebuilt = "\n".join([lines[0], ",\n".join(kept), *lines[close:]])
    return rebuilt, ["ADD " + line.strip() for line in keys], ["ADD " + line.strip() for line in foreign]


class _InsertWorkers:
    """INSERT batches run on a few connections at once, each with the dump's session settings."""

    def __init__(self, params: ConnectionParams, database: str, prelude: Sequence[str], count: int) -> None:
        self._queue: "queue.Queue[Optional[bytes]]" = queue.Queue(maxsize=max(2, count * 3))
        self._error: Optional[Tuple[bytes, BaseException]] = None
        self._connections: List[Any] = []
        self._threads: List[threading.Thread] = []
        self.statements = 0
        try:
            for number in range(count):
                conn = connect(params, database)
                self._connections.append(conn)
                with conn.cursor() as cur:
                    for statement in prelude:
                        cur.execute(statement)
                    cur.execute("SET SESSION foreign_key_checks = 0, unique_checks = 0")
                thread = threading.Thread(target=self._work, args=(conn,), name=f"schemagate-restore-{number}", daemon=True)
                thread.start()
                self._threads.append(thread)
        except BaseException:
            self.close()
            raise

    def _work(self, conn: Any) -> None:
        with conn.cursor() as cur:
            while True:
                statement = self._queue.get()
                try:
                    if statement is None:
                        return
                    if self._error is None:
                        cur.execute(statement)
                except Exception as exc:  # pylint: disable=broad-exception-caught  # handed to the main thread
                    if self._error is None:
                        self._error = (statement or b"", exc)
                finally:
                    self._queue.task_done()

    def check(self) -> None:
        if self._error is not None:
            statement, exc = self._error
            table = re.match(rb"(INSERT\s+INTO|ALTER\s+TABLE)\s+`?([^`\s(]+)", statement)
            where = table.group(2).decode("utf-8", "replace") if table else "a table"
            what = "indexes and foreign keys" if table and table.group(1).startswith(b"ALTER") else "rows"
            reason = error_text(exc) if isinstance(exc, MySQLError) else f"{type(exc).__name__}: {exc}"
            raise SchemagateError(f"Restoring the {what} of {where} failed: {reason}")

    def submit(self, statement: bytes) -> None:
        self.check()
        self._queue.put(statement)
        self.statements += 1

    def barrier(self) -> None:
        """Wait until every queued INSERT has run (before a trigger is created on the table, for example)."""
        self._queue.join()
        self.check()

    def close(self) -> None:
        for thread in self._threads:
            if thread.is_alive():
                self._queue.put(None)
        for thread in self._threads:
            thread.join()
        self._threads = []
        for conn in self._connections:
            try:
                conn.close()
            except Exception:  # pylint: disable=broad-exception-caught  # closing a broken connection
                pass
        self._connections = []


def restore_dump(
    params: ConnectionParams, dump_path: str, source: str, target: str, workers: int = RESTORE_WORKERS
) -> Dict[str, Any]:
    """Restore a dump of ``source`` into the (empty, existing) database ``target``, in parallel.

    DDL and session statements run in order on one connection; INSERT batches go to ``workers``
    other connections (same session settings as the dump's header, foreign_key_checks and
    unique_checks off, as in the dump). Before any trigger, view, routine or event the pending
    INSERTs are drained, so a trigger never fires on restored rows. LOCK/UNLOCK TABLES and
    ALTER TABLE ... DISABLE/ENABLE KEYS are skipped (they would serialise the workers; the KEYS
    statements only matter for MyISAM, whose indexes are then built row by row). DEFINER clauses
    are dropped: the restoring account becomes the definer. Secondary keys and foreign keys are
    added after all rows are in (``defer_secondary_keys``), one ALTER TABLE per table, in parallel.

    Returns the tables restored, the statements counted and ``objects``: the statements that
    recreate views, triggers, routines and events with their session settings, in dump order
    (including the stand-in views that let a view use a view created after it), for replaying in
    another database (the emergency restore does, in production).
    """
    check_scratch_target(source, target)
    started = time.monotonic()
    conn = connect(params, target)
    inserter: Optional[_InsertWorkers] = None
    prelude: List[str] = []
    objects: List[Tuple[str, Optional[str], str]] = []
    tables: List[str] = []
    counts = {"ddl": 0, "insert": 0, "skipped": 0, "deferred_keys": 0}
    deferred: List[Tuple[str, List[str], List[str]]] = []  # (table, key clauses, foreign key clauses)
    in_prelude = True  # the dump's header: session settings every worker needs
    first_batch_pending = False  # the next INSERT is the first into a table just created
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION foreign_key_checks = 0, unique_checks = 0")
            for is_insert, statement in iter_dump_statements(dump_path):
                if is_insert:
                    if inserter is None:
                        inserter = _InsertWorkers(params, target, prelude, max(1, workers))
                    inserter.submit(statement)
                    counts["insert"] += 1
                    if first_batch_pending:
                        # With unique_checks and foreign_key_checks off, InnoDB (MariaDB 10.6+) locks a whole
                        # *empty* table for an INSERT: two workers starting on the same empty table deadlock.
                        # Once the first batch has committed the table is not empty and the rest go in parallel.
                        inserter.barrier()
                        first_batch_pending = False
                    continue
                kind, name = classify(statement)
                if kind == "skip":
                    counts["skipped"] += 1
                    continue
                if kind == "insert":  # an INSERT the fast path did not see (unusual layout): run it in order
                    if inserter is not None:
                        inserter.barrier()
                    cur.execute(statement)
                    counts["insert"] += 1
                    continue
                if kind == "table":
                    in_prelude = False
                    named = _TABLE_NAME.match(_plain(statement))
                    table = (named.group(1) or named.group(2)).replace("``", "`") if named else ""
                    if table == MARKER_TABLE:  # DROP TABLE IF EXISTS would remove the marker that protects the scratch database
                        raise SchemagateError(f"{dump_path}: the dump holds a {MARKER_TABLE} table: it is a dump of a scratch database.")
                    if table and _plain(statement).upper().startswith("CREATE"):
                        tables.append(table)
                        first_batch_pending = True
                        statement, keys, foreign = defer_secondary_keys(statement)
                        if keys or foreign:
                            deferred.append((table, keys, foreign))
                if kind in _OBJECT_KINDS and inserter is not None:
                    inserter.barrier()
                executable = _for_database(statement, kind, source, target, dump_path)
                if kind == "session" and in_prelude:
                    prelude.append(executable)
                if kind in _OBJECT_KINDS or kind in ("session", "database"):
                    objects.append((kind, name, statement))
                try:
                    cur.execute(executable)
                except MySQLError as exc:
                    raise SchemagateError(f"Restoring {dump_path} into {target!r} failed at '{_plain(statement)[:80]}': {error_text(exc)}") from None
                counts["ddl"] += 1
        if deferred:
            if inserter is None:
                inserter = _InsertWorkers(params, target, prelude, max(1, workers))
            # Keys first (a foreign key may need its parent's unique key), each table's in one sorted pass, tables in parallel.
            for position in (1, 2):
                inserter.barrier()
                for entry in deferred:
                    if entry[position]:
                        inserter.submit(f"ALTER TABLE {_quote_any(entry[0])} {', '.join(entry[position])}".encode("utf-8"))
                        counts["deferred_keys"] += len(entry[position])
        if inserter is not None:
            inserter.barrier()
    except READ_ERRORS as exc:
        raise SchemagateError(f"Cannot read {dump_path}: {exc}; the file is damaged, use another backup.") from None
    finally:
        if inserter is not None:
            inserter.close()
        conn.close()
    return {
        "tables": tables,
        "statements": counts,
        "workers": max(1, workers),
        "seconds": round(time.monotonic() - started, 3),
        "objects": objects,
    }


# --------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------

def compare(manifest: Dict[str, Any], figures: Dict[str, Dict[str, Any]], schema: Dict[str, Any], server: ServerInfo) -> List[str]:
    """What differs between a restored database and the manifest, one line each; empty when identical.

    CHECKSUM TABLE values are compared when the server runs the version the backup was taken on.
    """
    same_version = manifest.get("server", {}).get("version") == server.version_string
    expected = manifest["tables"]
    lines = [f"table {name}: missing after restore" for name in sorted(set(expected) - set(figures))]
    lines += [f"table {name}: not in the backup manifest" for name in sorted(set(figures) - set(expected))]
    for name in sorted(set(expected) & set(figures)):
        want, got = expected[name], figures[name]
        if want["rows"] != got["rows"]:
            lines.append(f"table {name}: {got['rows']} rows restored, the manifest says {want['rows']}")
        elif same_version and want["checksum"] != got["checksum"]:
            lines.append(f"table {name}: row checksum {got['checksum']} restored, the manifest says {want['checksum']}")
    recorded = manifest["schema"]
    if schema["portable_fingerprint"] != recorded["portable_fingerprint"]:
        differences = diff_tables(recorded["structure"]["tables"], schema["structure"]["tables"])
        for kind in ("views", "triggers", "routines"):
            want_names, got_names = set(recorded["structure"].get(kind, {})), set(schema["structure"].get(kind, {}))
            differences += [f"{kind[:-1]} {name}: missing after restore" for name in sorted(want_names - got_names)]
            differences += [f"{kind[:-1]} {name}: not in the backup" for name in sorted(got_names - want_names)]
        detail = f": {'; '.join(differences[:5])}" if differences else " (view, trigger or routine bodies)"
        lines.append("schema fingerprint differs from the manifest's" + detail)
    return lines


def _restore_and_compare(
    params: ConnectionParams, conn: Any, server: ServerInfo, manifest: Dict[str, Any], dump_path: str, target: str, workers: int
) -> Tuple[Dict[str, Any], List[str]]:
    restored = restore_dump(params, dump_path, manifest["database"], target, workers)
    started = time.monotonic()
    tables = base_tables(conn, target, exclude=(MARKER_TABLE,))
    figures = table_figures(conn, target, tables)
    schema = read_schema(conn, target, server)
    restored["compare_seconds"] = round(time.monotonic() - started, 3)
    restored["checksums_compared"] = manifest.get("server", {}).get("version") == server.version_string
    return restored, compare(manifest, figures, schema, server)


def verify_backup(
    params: ConnectionParams,
    conn: Any,
    server: ServerInfo,
    manifest_path: str,
    scratch_database: Optional[str] = None,
    workers: int = RESTORE_WORKERS,
) -> Dict[str, Any]:
    """Prove a backup restores to exactly what its manifest says; mark it verified.

    Checks the file's sha256, restores it into a fresh scratch database (default
    ``<database>_sg_verify_<label>``, carrying the clone marker), compares row counts, row checksums and
    the schema fingerprint with the manifest, drops the scratch database and records the outcome in
    the manifest. Any mismatch raises SchemagateError (one line; ``details`` lists every difference).
    """
    manifest = load_manifest(manifest_path)
    database, label = manifest["database"], manifest["label"]
    target = scratch_database or scratch_name(database, "verify", label)
    check_scratch_target(database, target)
    run_id = f"verify_{label}"
    outcome: Dict[str, Any] = {"at_utc": _utc_now(), "scratch_database": target, "mismatches": []}
    try:
        dump_path = check_backup_file(manifest_path, manifest)
    except SchemagateError as exc:
        _record(manifest_path, manifest, dict(outcome, mismatches=[exc.message]), verified=False)
        raise
    create_scratch(conn, database, target, run_id)
    try:
        restored, mismatches = _restore_and_compare(params, conn, server, manifest, dump_path, target, workers)
    except SchemagateError as exc:
        _record(manifest_path, manifest, dict(outcome, mismatches=[f"restore failed: {exc.message}"]), verified=False)
        raise
    finally:
        drop_scratch(conn, database, target, run_id)
    outcome.update(
        restore_seconds=restored["seconds"],
        compare_seconds=restored["compare_seconds"],
        checksums_compared=restored["checksums_compared"],
        workers=restored["workers"],
        statements=restored["statements"],
        mismatches=mismatches,
    )
    manifest = _record(manifest_path, manifest, outcome, verified=not mismatches)
    if mismatches:
        raise SchemagateError(
            f"Backup {manifest_path} failed verification: {len(mismatches)} difference(s), first: {mismatches[0]}",
            {"mismatches": mismatches},
        )
    return {"manifest_file": manifest_path, "verification": outcome, "manifest": manifest}


def _record(manifest_path: str, manifest: Dict[str, Any], outcome: Dict[str, Any], verified: bool) -> Dict[str, Any]:
    updated = dict(manifest, verified=verified, verification=outcome)
    write_private_json(manifest_path, updated)
    return updated


# --------------------------------------------------------------------------
# Retention
# --------------------------------------------------------------------------

def list_backups(backup_dir: str, database: str) -> List[Dict[str, Any]]:
    """The backups of ``database`` in ``backup_dir`` (files named by schemagate with a readable manifest), newest first."""
    validate_identifier(database, "database name")
    pattern = re.compile(rf"^{re.escape(database)}-([A-Za-z0-9_]{{1,40}})\.manifest\.json$")
    found = []
    try:
        names = os.listdir(backup_dir)
    except FileNotFoundError:
        return []
    for name in names:
        match = pattern.match(name)
        if not match:
            continue
        path = os.path.join(backup_dir, name)
        try:
            manifest = load_manifest(path)
        except SchemagateError:
            continue  # not ours, or damaged: never touched
        if manifest["database"] != database or manifest["label"] != match.group(1):
            continue
        found.append({
            "label": manifest["label"],
            "manifest_file": path,
            "backup_file": dump_file_of(path, manifest),
            "verified": manifest.get("verified") is True,
            "finished_utc": manifest.get("finished_utc") or "",
        })
    found.sort(key=lambda item: (item["finished_utc"], item["label"]), reverse=True)
    return found


def latest_verified_manifest(backup_dir: str, database: str) -> str:
    for backup in list_backups(backup_dir, database):
        if backup["verified"]:
            return backup["manifest_file"]
    raise SchemagateError(f"No verified backup of {database!r} in {backup_dir}: take one (schemagate.mysql.backup) or name a manifest.")


def prune_backups(backup_dir: str, database: str, keep: int, protect: Sequence[str] = ()) -> Dict[str, List[str]]:
    """Keep the newest ``keep`` verified backups of ``database``; delete older verified ones.

    Unverified backups (verification failed or not run) are never deleted; they are listed so an
    operator can look at them. Backups named in ``protect`` (manifest paths) are never deleted.
    """
    if keep < 1:
        raise SchemagateError(f"keep must be at least 1, got {keep}: the newest verified backup is always kept.")
    protected = {os.path.abspath(path) for path in protect}
    kept: List[str] = []
    deleted: List[str] = []
    unverified: List[str] = []
    for backup in list_backups(backup_dir, database):
        if not backup["verified"]:
            unverified.append(backup["manifest_file"])
        elif len(kept) < keep or os.path.abspath(backup["manifest_file"]) in protected:
            kept.append(backup["manifest_file"])
        else:
            _remove(backup["backup_file"])
            _remove(backup["manifest_file"])
            deleted.append(backup["manifest_file"])
    if deleted:
        _fsync_directory(backup_dir)
    return {"kept": kept, "deleted": deleted, "unverified": unverified}


# --------------------------------------------------------------------------
# Emergency restore
# --------------------------------------------------------------------------

def restore_plan(conn: Any, manifest_path: str, database: str, run_id: str) -> Dict[str, Any]:
    """Everything that can refuse a restore, checked before anything is written (also the check-mode answer)."""
    manifest = load_manifest(manifest_path)
    if manifest["database"] != database:
        raise SchemagateError(
            f"Backup {manifest_path} is a backup of {manifest['database']!r}, not of {database!r}: choose a backup of {database!r}."
        )
    if manifest.get("verified") is not True:
        raise SchemagateError(f"Backup {manifest_path} is not verified: verify it first (schemagate.mysql.backup with verify) or use a verified one.")
    dump_path = check_backup_file(manifest_path, manifest)
    scratch = scratch_name(database, "restore", run_id)
    old = scratch_name(database, "old", run_id)
    with conn.cursor() as cur:
        for name in (scratch, old):
            cur.execute("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,))
            if cur.fetchone() is not None:
                raise SchemagateError(f"Database {name!r} already exists: choose another run_id.")
    production_tables = base_tables(conn, database, exclude=STAYS_IN_PRODUCTION)
    return {
        "manifest": manifest,
        "manifest_file": manifest_path,
        "backup_file": dump_path,
        "scratch_database": scratch,
        "old_database": old,
        "production_tables": production_tables,
        "backup_tables": sorted(set(manifest["tables"]) - set(STAYS_IN_PRODUCTION)),
        "only_in_production": sorted(set(production_tables) - set(manifest["tables"])),
    }


def _show_create(cur: Any, kind: str, database: str, name: str) -> Tuple[str, str, str, str]:
    """(statement, sql_mode, character_set_client, collation_connection) of a trigger/view/routine/event."""
    cur.execute(f"SHOW CREATE {kind} {quote_identifier(database)}.{_quote_any(name)}")
    values = dict(zip((column[0].lower() for column in cur.description), cur.fetchone()))
    statement = values.get("sql original statement") or values.get(f"create {kind.lower()}")
    return (
        str(statement),
        str(values.get("sql_mode") or ""),  # views have none: they are stored resolved
        str(values.get("character_set_client") or "utf8mb4"),
        str(values.get("collation_connection") or "utf8mb4_general_ci"),
    )


def _run_in(cur: Any, database: str, statement: str, sql_mode: str, charset: str, collation: str) -> None:
    """Run a CREATE TRIGGER/VIEW/... in ``database`` with the session settings it was defined under."""
    cur.execute(f"USE {quote_identifier(database)}")
    cur.execute("SET SESSION sql_mode = %s, character_set_client = %s, collation_connection = %s", (sql_mode, charset, collation))
    cur.execute(_without_definer(statement))


def _production_objects(cur: Any, database: str) -> Dict[str, List[Tuple[str, Tuple[str, str, str, str]]]]:
    """The triggers, views, routines and events of ``database`` with their definitions."""
    found: Dict[str, List[Tuple[str, Tuple[str, str, str, str]]]] = {"TRIGGER": [], "VIEW": [], "PROCEDURE": [], "FUNCTION": [], "EVENT": []}
    cur.execute("SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s", (database,))
    names = {"TRIGGER": [row[0] for row in cur.fetchall()]}
    cur.execute("SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s", (database,))
    names["VIEW"] = [row[0] for row in cur.fetchall()]
    cur.execute("SELECT ROUTINE_NAME, ROUTINE_TYPE FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s", (database,))
    for name, kind in cur.fetchall():
        names.setdefault(kind.upper(), []).append(name)
    cur.execute("SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s", (database,))
    names["EVENT"] = [row[0] for row in cur.fetchall()]
    for kind, listed in names.items():
        for name in listed:
            found.setdefault(kind, []).append((name, _show_create(cur, kind, database, name)))
    return found


def restore_backup(
    params: ConnectionParams,
    conn: Any,
    server: ServerInfo,
    manifest_path: str,
    database: str,
    run_id: str,
    workers: int = RESTORE_WORKERS,
) -> Dict[str, Any]:
    """Replace ``database``'s tables with a verified backup; nothing is dropped.

    1. Refuse an unverified backup, a backup of another database or a file whose sha256 is wrong.
    2. Restore into ``<database>_sg_restore_<run_id>`` and verify it against the manifest.
    3. Drop the triggers of production and of the restored tables (MySQL cannot move a table with
       triggers to another database), keeping production's definitions.
    4. One atomic ``RENAME TABLE`` moves every production table to ``<database>_sg_old_<run_id>`` and
       every restored table into production. Tables that only production has move too. The deploy
       lock table stays: it is the running deploy's state, not data of the backup.
    5. Replay the dump's view, trigger, routine and event statements in production (DROP ... IF EXISTS
       then CREATE, with the dump's session settings and without DEFINER). Views, routines and events
       production had but the backup has not are dropped; their CREATE statements are returned in
       ``removed_objects``. Production's previous triggers are recreated on the moved tables in the old
       database, so it stays complete.
    6. Drop the (now empty) scratch database and compare production with the manifest.

    Run it with the application stopped: between steps 3 and 5 production has no triggers.
    """
    plan = restore_plan(conn, manifest_path, database, run_id)
    manifest, scratch, old = plan["manifest"], plan["scratch_database"], plan["old_database"]
    started = time.monotonic()
    create_scratch(conn, database, scratch, run_id)
    try:
        restored, mismatches = _restore_and_compare(params, conn, server, manifest, plan["backup_file"], scratch, workers)
        if mismatches:
            raise SchemagateError(
                f"The backup restored into {scratch!r} differs from its manifest ({mismatches[0]}); production was not touched.",
                {"mismatches": mismatches},
            )
        result = _swap(params, database, scratch, old, restored["objects"])
    finally:
        drop_scratch(conn, database, scratch, run_id)  # after the swap it holds only the marker (and the dump's views/routines)
    after_tables = base_tables(conn, database, exclude=STAYS_IN_PRODUCTION)
    restored_part = dict(manifest, tables={name: value for name, value in manifest["tables"].items() if name not in STAYS_IN_PRODUCTION})
    differences = compare(restored_part, table_figures(conn, database, after_tables), read_schema(conn, database, server), server)
    outcome = {
        "changed": True,
        "manifest_file": manifest_path,
        "database": database,
        "old_database": old,
        "restore_seconds": restored["seconds"],
        "seconds": round(time.monotonic() - started, 3),
        "only_in_production": plan["only_in_production"],
        **result,
        "differences_after_restore": differences,
    }
    if differences:
        raise SchemagateError(
            f"Production was restored from {manifest_path} (previous tables in {old!r}) but now differs from the backup: "
            f"{differences[0]} (did the application write during the restore?)",
            {"differences": differences, "old_database": old},
        )
    return outcome


def _swap(params: ConnectionParams, database: str, scratch: str, old: str, objects: List[Tuple[str, Optional[str], str]]) -> Dict[str, Any]:
    # Its own connection: the replayed SET statements and USE must not leak into the caller's session.
    conn = connect(params, database)
    try:
        return _swap_on(conn, database, scratch, old, objects)
    finally:
        conn.close()


def _swap_on(conn: Any, database: str, scratch: str, old: str, objects: List[Tuple[str, Optional[str], str]]) -> Dict[str, Any]:
    prod, new, aside = quote_identifier(database), quote_identifier(scratch), quote_identifier(old)
    production_tables = base_tables(conn, database, exclude=STAYS_IN_PRODUCTION)
    restored_tables = base_tables(conn, scratch, exclude=(MARKER_TABLE, *STAYS_IN_PRODUCTION))
    with conn.cursor() as cur:
        before = _production_objects(cur, database)
        cur.execute("SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s", (scratch,))
        scratch_triggers = [row[0] for row in cur.fetchall()]
        cur.execute("SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (database,))
        charset, collation = cur.fetchone()
        cur.execute(f"CREATE DATABASE {aside} CHARACTER SET {charset} COLLATE {collation}")
        for name in scratch_triggers:
            cur.execute(f"DROP TRIGGER {new}.{_quote_any(name)}")
        for name, _definition in before["TRIGGER"]:
            cur.execute(f"DROP TRIGGER {prod}.{_quote_any(name)}")
        moves = [f"{prod}.{_quote_any(t)} TO {aside}.{_quote_any(t)}" for t in production_tables]
        moves += [f"{new}.{_quote_any(t)} TO {prod}.{_quote_any(t)}" for t in restored_tables]
        cur.execute(f"SET SESSION lock_wait_timeout = {SWAP_LOCK_WAIT_SECONDS}")
        try:
            cur.execute("RENAME TABLE " + ", ".join(moves))
        except MySQLError as exc:
            for name, definition in before["TRIGGER"]:  # production is unchanged: give it its triggers back
                _run_in(cur, database, *definition)
            cur.execute(f"DROP DATABASE {aside}")  # still empty: the rename did nothing
            raise SchemagateError(
                f"Swapping the restored tables into {database!r} failed: {error_text(exc)}; production is unchanged. "
                "Stop the application's sessions (SHOW PROCESSLIST) and retry."
            ) from None
        recreated = _replay_objects(cur, database, objects)
        removed = _remove_extra_objects(cur, database, before, recreated)
        old_triggers = []
        for name, definition in before["TRIGGER"]:
            try:
                _run_in(cur, old, *definition)
                old_triggers.append(name)
            except MySQLError:
                continue  # its definition is returned below; the tables are what matters
        cur.execute(f"USE {prod}")
        _check_foreign_keys_stay_home(cur, database)
    return {
        "swapped_tables": restored_tables,
        "moved_to_old": production_tables,
        "recreated_objects": recreated,
        "removed_objects": removed,
        "previous_triggers": {name: definition[0] for name, definition in before["TRIGGER"]},
        "previous_triggers_on_old_tables": old_triggers,
    }


def _replay_objects(cur: Any, database: str, objects: List[Tuple[str, Optional[str], str]]) -> List[str]:
    """Run the dump's view/trigger/routine/event statements (with their SET context) in ``database``."""
    cur.execute(f"USE {quote_identifier(database)}")
    recreated = []
    for kind, name, statement in objects:  # a dump of this very database: its ALTER DATABASE lines already name it
        if kind == "trigger":
            cur.execute(f"DROP TRIGGER IF EXISTS {_quote_any(name or '')}")
        if kind in ("view", "trigger", "routine", "event"):
            statement = _without_definer(statement)
            if f"{kind} {name}" not in recreated:  # a view comes twice: its stand-in, then its definition
                recreated.append(f"{kind} {name}")
        try:
            cur.execute(statement)
        except MySQLError as exc:
            raise SchemagateError(
                f"The tables of {database!r} were restored, but recreating {kind} {name or ''} failed: {error_text(exc)}; "
                "create it by hand from the dump."
            ) from None
    return recreated


def _remove_extra_objects(
    cur: Any, database: str, before: Dict[str, List[Tuple[str, Tuple[str, str, str, str]]]], recreated: List[str]
) -> Dict[str, str]:
    """Drop views, routines and events the backup does not have; return their definitions."""
    from_backup = set(recreated)
    removed: Dict[str, str] = {}
    for kind, label in (("VIEW", "view"), ("PROCEDURE", "routine"), ("FUNCTION", "routine"), ("EVENT", "event")):
        for name, definition in before.get(kind, []):
            if f"{label} {name}" in from_backup:
                continue
            cur.execute(f"DROP {kind} IF EXISTS {quote_identifier(database)}.{_quote_any(name)}")
            removed[f"{kind.lower()} {name}"] = definition[0]
    return removed


def _check_foreign_keys_stay_home(cur: Any, database: str) -> None:
    cur.execute(
        "SELECT DISTINCT TABLE_NAME, CONSTRAINT_NAME, REFERENCED_TABLE_SCHEMA FROM information_schema.KEY_COLUMN_USAGE "
        "WHERE TABLE_SCHEMA = %s AND REFERENCED_TABLE_SCHEMA IS NOT NULL AND REFERENCED_TABLE_SCHEMA <> %s",
        (database, database),
    )
    strays = [f"{table}.{name} -> {schema}" for table, name, schema in cur.fetchall()]
    if strays:
        raise SchemagateError(f"After the swap, foreign keys of {database!r} point into other databases: {', '.join(strays[:5])}.")


def summary(manifest: Dict[str, Any]) -> Dict[str, Any]:
    """The manifest without the (large) schema structure, for module results."""
    short = {key: value for key, value in manifest.items() if key != "schema"}
    short["schema_fingerprint"] = manifest.get("schema", {}).get("fingerprint")
    short["total_rows"] = sum(table["rows"] for table in manifest.get("tables", {}).values())
    return short
