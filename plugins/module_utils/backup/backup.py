"""Verified backups: dump with the server's own tool, then prove the dump restores to what was dumped.

``take_backup`` streams the dump of ``mariadb-dump``/``mysqldump`` through gzip into the backup
directory and writes its manifest (``backup_files``). ``verify_backup`` restores the dump into a
scratch database (``dump_restore``) and compares it with the manifest; only then is the manifest
marked ``verified``. The emergency restore (``restore``) only accepts verified backups.

Consistency: the manifest's figures are taken in a consistent-snapshot transaction started next
to the dump's own (``--single-transaction``). The two snapshots only agree if nothing commits
between them, so by default writes are paused for that instant: a ``LOCK TABLES ... READ`` is held
from just before our snapshot until the dump has started its own (its first table header arrives),
typically tens of milliseconds. With ``snapshot_lock_timeout=0`` there is no pause; a database
receiving writes during the backup can then fail verification (a safe failure: the deploy aborts).
"""
from __future__ import annotations

import collections
import dataclasses
import hashlib
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
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..core.bookkeeping import DEFAULT_MIGRATIONS_TABLE, MARKER_TABLE, history_tables
from ..core.catalog import diff_tables, find_generated_fk_indexes, fingerprint, read_schema
from ..core.compression import compressor_name, gzip_member
from ..core.connection import ConnectionParams, MySQLError, connect, error_text, quote_identifier, quote_name
from ..core.dialect import ServerInfo
from ..core.errors import SchemagateError
from ..core.lock_wait import BoundedLocks, LockWaitExhausted
from ..core.schema_model import Schema
from ..core.scratch import check_scratch_target, create_scratch, drop_scratch, scratch_name
from ..core.session import same_server
from ..core.session import SqlSession
from .backup_files import (
    MANIFEST_FORMAT,
    BackupState,
    Manifest,
    RecordedSchema,
    RecordedServer,
    TableFigures,
    backup_paths,
    check_backup_file,
    default_label,
    json_value,
    load_manifest,
    remove_file,
    utc_now,
    validate_label,
    write_manifest,
)
from .dump_restore import RESTORE_WORKERS, BinaryReader, restore_dump
from .dump_tool import (
    DUMP_OPTIONS,
    ClientOptions,
    client_environment,
    dump_command,
    find_dump_tool,
    tool_version,
)


# Level 1: the dump still shrinks ~3x; with ISA-L installed it is also ~4x faster than zlib's level 1 (see compression.py).
GZIP_LEVEL = 1
_CHUNK = 1 << 20
_GZIP_BLOCK = 4 << 20
# The first output of the dump that comes after its START TRANSACTION WITH CONSISTENT SNAPSHOT.
_AFTER_SNAPSHOT_MARKERS = (
    b"\n-- Table structure for table ",
    b"\n-- Temporary table structure for view ",
    b"\n-- Dumping events for database ",
    b"\n-- Dumping routines for database ",
    b"\n-- Final view structure for view ",
)
_DUMP_COMPLETED = b"-- Dump completed"


def _plain_value(value: Any) -> Any:
    return value if value is None or isinstance(value, (bool, int, float, str)) else json_value(value)


# --------------------------------------------------------------------------
# Preflight: directory, free space, dump tool
# --------------------------------------------------------------------------

def estimate_bytes(conn: Any, database: str) -> int:
    """DATA_LENGTH + INDEX_LENGTH of the database: an upper bound of what its dump needs."""
    SqlSession(conn).require_database(database)
    with conn.cursor() as cur:
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


def plan_backup(
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
# Row figures: what the manifest promises and the verification checks
# --------------------------------------------------------------------------

def base_tables(conn: Any, database: str, exclude: Sequence[str] = ()) -> List[str]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
            (database,),
        )
        return [name for (name,) in cur.fetchall() if name not in exclude]


def table_figures(conn: Any, database: str, tables: Sequence[str]) -> Dict[str, TableFigures]:
    """Exact row count (COUNT(*)) and CHECKSUM TABLE of each table, read in the connection's current snapshot.

    Measured on MariaDB 10.11 (InnoDB): inside START TRANSACTION WITH CONSISTENT SNAPSHOT, CHECKSUM TABLE
    reads the snapshot like a SELECT does (updates, deletes and inserts committed by others after the
    snapshot do not change it), so it describes the same data as the dump. At 250,000 rows it costs
    0.13 s against 0.45 s for a SUM(CRC32(CONCAT_WS(...))) per table (2.1 s against 4.9 s at 3 million
    rows), and the backup runs it next to the dump and the compression on the same cores. Its value
    depends on the server version and the tables' storage format; a backup is verified and restored
    on the server it was taken from, and ``compare`` only compares checksums from the same version.
    """
    figures: Dict[str, TableFigures] = {}
    if not tables:
        return figures
    schema = quote_identifier(database)
    with conn.cursor() as cur:
        cur.execute("CHECKSUM TABLE " + ", ".join(f"{schema}.{quote_name(table)}" for table in tables))
        checksums = {str(name).split(".", 1)[1]: value for name, value in cur.fetchall()}
        for table in tables:
            cur.execute(f"SELECT COUNT(*) FROM {schema}.{quote_name(table)}")
            figures[table] = TableFigures(rows=int(cur.fetchone()[0]), checksum=None if checksums.get(table) is None else int(checksums[table]))
    return figures


def migration_rows(
    conn: Any, database: str, tables: Sequence[str], migrations_table: str = DEFAULT_MIGRATIONS_TABLE
) -> Dict[str, List[Dict[str, Any]]]:
    """The rows of the tables that record applied migrations (``migrations_table`` and the tools' own), in id order."""
    rows: Dict[str, List[Dict[str, Any]]] = {}
    with conn.cursor() as cur:
        for table in history_tables(migrations_table):
            if table not in tables:
                continue
            cur.execute(f"SELECT * FROM {quote_identifier(database)}.{quote_identifier(table)} ORDER BY 1")
            names = [column[0] for column in cur.description]
            rows[table] = [{name: _plain_value(value) for name, value in zip(names, record)} for record in cur.fetchall()]
    return rows


def portable_fingerprint(schema: Schema, database: str) -> str:
    """The schema fingerprint with the database's own name taken out of view/trigger/routine bodies.

    information_schema qualifies view bodies with the database name, so the same view reads
    differently in production and in the scratch database a backup is restored into.
    """
    own = f"`{database}`."
    portable = dataclasses.replace(
        schema, **{kind: {name: body.replace(own, "") for name, body in schema.objects(kind).items()} for kind in Schema.OBJECT_KINDS}
    )
    return fingerprint(portable)


def recorded_schema(conn: Any, database: str, server: ServerInfo) -> RecordedSchema:
    """The schema of ``database`` as a manifest records it."""
    schema = read_schema(conn, database, server)
    return RecordedSchema(fingerprint=fingerprint(schema), portable_fingerprint=portable_fingerprint(schema, database), structure=schema)


class _Snapshot:
    """The manifest's figures, read in a snapshot aligned with the dump's (see the module docstring)."""

    def __init__(self, params: ConnectionParams, database: str, lock_timeout: int, migrations_table: str) -> None:
        self.database = database
        self.migrations_table = migrations_table
        self.lock_timeout = lock_timeout
        self.snapshot = connect(params, database)
        try:
            self.locker = connect(params, database) if lock_timeout > 0 else None
        except BaseException:
            self.snapshot.close()
            raise
        self.locks: Optional[BoundedLocks] = None
        self.paused_at: Optional[float] = None
        self.pause_ms: Optional[float] = None
        self.result: Dict[str, Any] = {}
        self.error: Optional[BaseException] = None
        self._thread: Optional[threading.Thread] = None

    def begin(self, tables: Sequence[str]) -> None:
        """Pause writes (if asked) and start our snapshot; the caller starts the dump right after."""
        if self.locker is not None and tables:
            # Each attempt holds up the application's writes for at most 1 s (see core/lock_wait.py).
            self.locks = BoundedLocks(self.locker, self.lock_timeout)
            with self.locker.cursor() as cur:
                try:
                    self.locks.execute(cur, "LOCK TABLES " + ", ".join(f"{quote_name(table)} READ" for table in tables),
                                       what=f"The write pause that aligns the backup's snapshots of {self.database!r}")
                except LockWaitExhausted as exc:
                    raise SchemagateError(
                        f"{exc.message}; retry when it ends, or set snapshot_lock_timeout: 0 (no pause).", exc.details
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
                "migrations": migration_rows(self.snapshot, self.database, tables, self.migrations_table),
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
# The verification restore, fed while the dump is written
# --------------------------------------------------------------------------

class _FeedAborted(SchemagateError):
    """The dump stopped before its end: the restore reading it stops too."""


class RestoreFeed:
    """The dump's output, read by a restore in a thread of its own while the backup file is written.

    The dump's chunks go to a bounded queue (a few MiB in flight): a restore slower than the dump
    holds the dump back instead of filling memory, so backup + verification take about the longer
    of the two, not their sum, and the restore never decompresses the file it could read before.
    If the restore fails, the dump carries on into the file (the backup stays, unverified) and
    the restore's error is raised by ``finish``.
    """

    def __init__(self, restore: Callable[[BinaryReader, Dict[str, List[str]]], Dict[str, Any]], depth: int = 8) -> None:
        self._restore = restore
        self._chunks: "queue.Queue[Optional[bytes]]" = queue.Queue(maxsize=depth)
        self._left = b""
        self._ended = False
        self._aborted = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.result: Dict[str, Any] = {}
        self.error: Optional[BaseException] = None

    # The dump's side --------------------------------------------------------
    def start(self, generated_fk_indexes: Dict[str, List[str]]) -> None:
        self._thread = threading.Thread(target=self._run, args=(generated_fk_indexes,), name="schemagate-verify-restore", daemon=True)
        self._thread.start()

    def _run(self, generated: Dict[str, List[str]]) -> None:
        try:
            self.result = self._restore(self, generated)
        except BaseException as exc:  # pylint: disable=broad-exception-caught  # raised by finish() in the caller's thread
            self.error = exc

    def _put(self, item: Optional[bytes]) -> None:
        while self._thread is not None and self._thread.is_alive():
            try:
                self._chunks.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def write(self, chunk: bytes) -> None:
        if self.error is None:
            self._put(chunk)

    def finish(self) -> Dict[str, Any]:
        """The end of the dump: wait for the restore; its result, or its error raised here."""
        self._put(None)
        if self._thread is not None:
            self._thread.join()
        if self.error is not None:
            raise self.error
        return self.result

    def abort(self) -> None:
        """The dump failed: stop the restore where it is (its partial database is dropped by the caller)."""
        self._aborted.set()
        self._put(None)
        if self._thread is not None:
            self._thread.join()

    # The restore's side -----------------------------------------------------
    def read(self, size: int = -1, /) -> bytes:
        while not self._left and not self._ended:
            chunk = self._chunks.get()
            if self._aborted.is_set():
                raise _FeedAborted("the dump stopped before its end")
            if chunk is None:
                self._ended = True
            else:
                self._left = chunk
        if size < 0 or size >= len(self._left):
            data, self._left = self._left, b""
        else:
            data, self._left = self._left[:size], self._left[size:]
        return data


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
    migrations_table: str = DEFAULT_MIGRATIONS_TABLE,
    feed: Optional[RestoreFeed] = None,
) -> Dict[str, Any]:
    """Dump ``database`` into ``backup_dir`` and write its manifest (``verified: false``).

    Returns ``{"backup_file", "manifest_file", "manifest"}``. Nothing is left behind on failure.
    ``compress_level`` is gzip's (0 stores without compressing: 3x the disk); levels 1-3 use ISA-L when installed.
    ``on_dump_start`` is called with the running dump process (tests use it). ``feed`` also receives the
    dump's output as it is written (the verification restore, ``take_verified_backup``); it is started here.
    """
    label = validate_label(label or default_label())
    if not 0 <= compress_level <= 9:
        raise SchemagateError(f"compress_level must be 0-9 (gzip's levels), got {compress_level}.")
    plan = plan_backup(conn, server, database, backup_dir, label, min_free_ratio, create=True)
    tool = plan["dump_tool"]
    version = tool_version(tool)
    tables = base_tables(conn, database)
    generated, _how = find_generated_fk_indexes(conn, database, server, tables)
    started_utc, started = utc_now(), time.monotonic()
    private_dir = tempfile.mkdtemp(prefix="schemagate-backup-")  # 0700
    partial = plan["dump_file"] + ".partial"
    try:
        with ClientOptions(params, server, private_dir) as option_file:
            snapshot = _Snapshot(params, database, snapshot_lock_timeout, migrations_table)
            try:
                if feed is not None:
                    feed.start(generated)
                snapshot.begin(tables)
                written = _run_dump(
                    dump_command(tool, option_file.path, server, database), partial, private_dir, snapshot, tables, compress_level,
                    on_dump_start, option_file.pass_fds, feed,
                )
                figures = snapshot.figures()
            finally:
                snapshot.close()
        manifest = Manifest(
            format=MANIFEST_FORMAT,
            database=database,
            label=label,
            server=RecordedServer(flavor=server.flavor, version=server.version_string, label=server.label),
            dump_tool={"name": os.path.basename(tool), "path": tool, "version": version},
            dump_options=[*DUMP_OPTIONS, *server.dump_flavor_options],
            compress_level=compress_level,
            compressor=compressor_name(compress_level),
            started_utc=started_utc,
            finished_utc=utc_now(),
            seconds=round(time.monotonic() - started, 3),
            file=os.path.basename(plan["dump_file"]),
            size_bytes=written["size"],
            sha256=written["sha256"],
            estimate_bytes=plan["estimate_bytes"],
            consistency={
                "figures": "COUNT(*) and CHECKSUM TABLE, read in a consistent snapshot started next to the dump's",
                "writes_paused_ms": snapshot.pause_ms,
                "lock_waits": snapshot.locks.waits if snapshot.locks else [],
            },
            dump_warnings=written["warnings"],
            migrations=figures["migrations"],
            generated_fk_indexes=generated,
            tables=figures["tables"],
            schema=recorded_schema(conn, database, server),
            state=BackupState.UNVERIFIED,
            verification=None,
        )
        os.replace(partial, plan["dump_file"])
        write_manifest(plan["manifest_file"], manifest)  # last: a manifest always has its dump
    except BaseException:
        remove_file(partial)
        remove_file(plan["dump_file"])  # plan_backup made sure it did not exist before
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
    pass_fds: Sequence[int] = (),
    feed: Optional[RestoreFeed] = None,
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
                env=client_environment(private_dir), bufsize=0, pass_fds=tuple(pass_fds),
            )
        except OSError as exc:
            raise SchemagateError(f"Cannot start {name}: {exc.strerror or exc}.") from None
        try:
            if on_dump_start is not None:
                on_dump_start(process)
            _enlarge_pipe(process.stdout)
            tail = _stream(process, _ParallelGzip(writer, compress_level), snapshot, tables, feed)
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


def _stream(
    process: "subprocess.Popen[bytes]", compressed: _ParallelGzip, snapshot: _Snapshot, tables: Sequence[str],
    feed: Optional[RestoreFeed] = None,
) -> bytes:
    """Copy the dump's output through gzip into the file (and to ``feed``); resume writes once the dump has its snapshot."""
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
            if feed is not None:
                feed.write(chunk)
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
# Verification
# --------------------------------------------------------------------------

def same_checksum_version(manifest: Manifest, server: ServerInfo) -> bool:
    """Whether CHECKSUM TABLE values of ``manifest`` can be compared on ``server``: the same server version.

    The version string's suffixes name build and configuration, not the row format: a primary with its
    binary log on reports ``10.11.19-MariaDB-log``, the rehearsal server without it ``10.11.19-MariaDB``.
    """
    def plain(version: Optional[str]) -> str:
        return re.sub(r"-log$", "", version or "")

    return plain(manifest.server_version) == plain(server.version_string)


def compare(manifest: Manifest, figures: Dict[str, TableFigures], schema: RecordedSchema, server: ServerInfo) -> List[str]:
    """What differs between a restored database and the manifest, one line each; empty when identical.

    CHECKSUM TABLE values are compared when the server runs the version the backup was taken on.
    """
    same_version = same_checksum_version(manifest, server)
    expected = manifest.tables
    lines = [f"table {name}: missing after restore" for name in sorted(set(expected) - set(figures))]
    lines += [f"table {name}: not in the backup manifest" for name in sorted(set(figures) - set(expected))]
    for name in sorted(set(expected) & set(figures)):
        want, got = expected[name], figures[name]
        if want.rows != got.rows:
            lines.append(f"table {name}: {got.rows} rows restored, the manifest says {want.rows}")
        elif same_version and want.checksum != got.checksum:
            lines.append(f"table {name}: row checksum {got.checksum} restored, the manifest says {want.checksum}")
    recorded = manifest.schema
    if schema.portable_fingerprint != recorded.portable_fingerprint:
        differences: List[str] = []
        if recorded.structure is not None and schema.structure is not None:
            differences = diff_tables(recorded.structure.tables, schema.structure.tables)
            for kind in Schema.OBJECT_KINDS:
                want_names, got_names = set(recorded.structure.objects(kind)), set(schema.structure.objects(kind))
                differences += [f"{kind[:-1]} {name}: missing after restore" for name in sorted(want_names - got_names)]
                differences += [f"{kind[:-1]} {name}: not in the backup" for name in sorted(got_names - want_names)]
        detail = f": {'; '.join(differences[:5])}" if differences else " (view, trigger or routine bodies)"
        lines.append("schema fingerprint differs from the manifest's" + detail)
    return lines


def compare_restored(conn: Any, server: ServerInfo, manifest: Manifest, target: str) -> Tuple[Dict[str, Any], List[str]]:
    """Read the restored database ``target`` as the manifest records production; its timing and the mismatches."""
    started = time.monotonic()
    tables = base_tables(conn, target, exclude=(MARKER_TABLE,))
    figures = table_figures(conn, target, tables)
    schema = recorded_schema(conn, target, server)
    timing = {"compare_seconds": round(time.monotonic() - started, 3), "checksums_compared": same_checksum_version(manifest, server)}
    return timing, compare(manifest, figures, schema, server)


def restore_and_compare(
    params: ConnectionParams, conn: Any, server: ServerInfo, manifest: Manifest, dump_path: str, target: str, workers: int
) -> Tuple[Dict[str, Any], List[str]]:
    """Restore ``dump_path`` into the scratch database ``target``; return what was restored and the mismatches with ``manifest``."""
    restored = restore_dump(params, dump_path, manifest.database, target, workers, manifest.generated_fk_indexes)
    timing, mismatches = compare_restored(conn, server, manifest, target)
    restored.update(timing)
    return restored, mismatches


@dataclasses.dataclass(frozen=True)
class VerifyServer:
    """Where the verification restore runs: another server (the rehearsal server), or production's own."""

    params: ConnectionParams
    conn: Any
    server: ServerInfo
    other_server: bool


def verify_server(production: Any, params: ConnectionParams, conn: Any, server: ServerInfo) -> VerifyServer:
    """The rehearsal server named by ``verify_target``, refused when it is production's own server."""
    if same_server(production, conn):
        raise SchemagateError(
            "verify_target reaches production's own server: name the rehearsal server there, or leave verify_target "
            "out to verify in a scratch database on production's server."
        )
    return VerifyServer(params, conn, server, other_server=True)


def take_verified_backup(  # pylint: disable=too-many-locals
    params: ConnectionParams,
    conn: Any,
    server: ServerInfo,
    database: str,
    backup_dir: str,
    label: Optional[str] = None,
    verify_on: Optional[VerifyServer] = None,
    keep_restored: bool = False,
    scratch_database: Optional[str] = None,
    workers: int = RESTORE_WORKERS,
    **backup_options: Any,
) -> Dict[str, Any]:
    """Take a backup and verify it by a restore that reads the dump while the backup file is written.

    The restore goes to ``verify_on`` (the rehearsal server: a database bearing production's name; it
    must not exist there yet), or, without it, to the scratch database ``<database>_sg_verify_<label>``
    on production's own server. Once the dump has ended, the file's sha256 is read back from disk
    and the restored database is compared with the manifest (row counts, row checksums on the same
    version, schema fingerprint); only then is the manifest marked verified. With ``keep_restored``
    the verified copy stays (with its scratch marker, run ``verify_<label>``) for the deploy to
    rehearse its migrations on; otherwise, and on any failure, it is dropped. ``backup_options`` go
    to ``take_backup``. Returns ``take_backup``'s result, ``verification`` and ``restored``.
    """
    label = validate_label(label or default_label())
    on = verify_on or VerifyServer(params, conn, server, other_server=False)
    target = scratch_database or (database if on.other_server else scratch_name(database, "verify", label))
    check_scratch_target(database, target, on.other_server)
    run_id = f"verify_{label}"
    outcome: Dict[str, Any] = {
        "at_utc": utc_now(), "scratch_database": target, "server": on.server.label, "streamed": True, "mismatches": [],
    }
    started = time.monotonic()
    create_scratch(on.conn, database, target, run_id, source_conn=conn if on.other_server else None)
    kept = False
    try:
        feed = RestoreFeed(lambda reader, generated: restore_dump(
            on.params, f"the dump of {database!r}", database, target, workers, generated, stream=reader, other_server=on.other_server))
        try:
            taken = take_backup(params, conn, server, database, backup_dir, label, feed=feed, **backup_options)
        except BaseException:
            feed.abort()
            raise
        manifest_path, manifest = taken["manifest_file"], taken["manifest"]
        try:
            restored = feed.finish()
            check_backup_file(manifest_path, manifest)  # the file on disk is the one whose stream was restored
            timing, mismatches = compare_restored(on.conn, on.server, manifest, target)
        except SchemagateError as exc:
            _record(manifest_path, manifest, dict(outcome, mismatches=[f"restore failed: {exc.message}"]), verified=False)
            raise
        outcome.update(
            restore_seconds=restored["seconds"],
            compare_seconds=timing["compare_seconds"],
            checksums_compared=timing["checksums_compared"],
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
        kept = keep_restored
    finally:
        if not kept:
            drop_scratch(on.conn, database, target, run_id, on.other_server)
    seconds = round(time.monotonic() - started, 3)
    return dict(
        taken,
        manifest=manifest,
        verification=outcome,
        seconds=seconds,
        restored={"database": target, "run_id": run_id, "server": on.server.label, "kept": kept, "seconds": seconds},
    )


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
    database, label = manifest.database, manifest.label
    target = scratch_database or scratch_name(database, "verify", label)
    check_scratch_target(database, target)
    run_id = f"verify_{label}"
    outcome: Dict[str, Any] = {"at_utc": utc_now(), "scratch_database": target, "mismatches": []}
    try:
        dump_path = check_backup_file(manifest_path, manifest)
    except SchemagateError as exc:
        _record(manifest_path, manifest, dict(outcome, mismatches=[exc.message]), verified=False)
        raise
    create_scratch(conn, database, target, run_id)
    try:
        restored, mismatches = restore_and_compare(params, conn, server, manifest, dump_path, target, workers)
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


def _record(manifest_path: str, manifest: Manifest, outcome: Dict[str, Any], verified: bool) -> Manifest:
    updated = dataclasses.replace(manifest, state=BackupState.VERIFIED if verified else BackupState.UNVERIFIED, verification=outcome)
    write_manifest(manifest_path, updated)
    return updated
