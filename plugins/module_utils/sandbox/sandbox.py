"""A private MariaDB/MySQL instance for demos and tests: its own datadir, port and socket.

It never touches the system server: no service manager, no /etc/mysql, no
port 3306. Everything lives under one directory (``.sandbox/`` by default):
the datadir, the socket, the pid file, the error log and two 0600 option files
with generated passwords (``admin.cnf`` for set-up, ``deploy.cnf`` for the
least-privileged deploy account the playbooks use).
"""
from __future__ import annotations

import fcntl
import getpass
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from ..core.connection import ConnectionParams, MySQLError, connect, error_text, quote_identifier
from ..core.errors import SchemagateError
from ..core.option_file import read_groups, render
from ..core.session import database_exists
from ..core.sql_script import split_statements
from .sample_data import SampleScale, seed_base_data

SERVER_BINARIES = ("mariadbd", "mysqld")
SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/libexec")
ADMIN_USER = "schemagate_admin"
DEPLOY_USER = "schemagate_deploy"

# What the deploy account may do on production: DML and DDL for migrations, plus
# what a consistent dump needs. Not SUPER, not GRANT OPTION, nothing global but PROCESS.
DEPLOY_DATABASE_PRIVILEGES = (
    "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, REFERENCES, "
    "CREATE TEMPORARY TABLES, LOCK TABLES, CREATE VIEW, SHOW VIEW, TRIGGER, EVENT, "
    "CREATE ROUTINE, ALTER ROUTINE, EXECUTE"
)
# PROCESS lets a run name the sessions that block its DDL (information_schema.INNODB_TRX).
DEPLOY_GLOBAL_PRIVILEGES = "PROCESS"


@dataclass(frozen=True)
class SandboxConfig:
    root: str
    port: int = 3417
    buffer_pool: str = "1G"
    extra_args: Tuple[str, ...] = ()  # more server options, e.g. TLS settings for a test instance
    # Production-like: the binary log on (ROW), as a real primary with replicas runs, so the tests can
    # measure what schemagate writes to it. A disposable instance (the gate's rehearsal server) has none.
    binlog: bool = True
    # Disposable: no binary log, no doublewrite, no flush at commit; a crash loses it, and nothing is lost.
    disposable: bool = False

    @property
    def datadir(self) -> str:
        return os.path.join(self.root, "data")

    @property
    def socket(self) -> str:
        return os.path.join(self.root, "mysqld.sock")

    @property
    def pid_file(self) -> str:
        return os.path.join(self.root, "mysqld.pid")

    @property
    def tmpdir(self) -> str:
        return os.path.join(self.root, "tmp")

    @property
    def error_log(self) -> str:
        return os.path.join(self.root, "error.log")

    @property
    def admin_cnf(self) -> str:
        return os.path.join(self.root, "admin.cnf")

    @property
    def deploy_cnf(self) -> str:
        return os.path.join(self.root, "deploy.cnf")

    def admin_params(self) -> ConnectionParams:
        return ConnectionParams(config_file=self.admin_cnf, unix_socket=self.socket)

    def deploy_params(self) -> ConnectionParams:
        return ConnectionParams(config_file=self.deploy_cnf)


def find_server_binary() -> Optional[str]:
    for name in SERVER_BINARIES:
        found = shutil.which(name)
        if found:
            return found
        for directory in SBIN_DIRS:
            candidate = os.path.join(directory, name)
            if os.access(candidate, os.X_OK):
                return candidate
    return None


def _require_server_binary() -> str:
    binary = find_server_binary()
    if binary is None:
        raise SchemagateError(
            "No MariaDB/MySQL server binary (mariadbd or mysqld) found: install mariadb-server "
            "(make install does it on Debian/Ubuntu as root)."
        )
    return binary


def _read_pid(cfg: SandboxConfig) -> Optional[int]:
    try:
        with open(cfg.pid_file, encoding="ascii") as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: Optional[int]) -> bool:
    if pid is None:
        return False
    try:  # a server this process started and that died is a zombie until reaped
        reaped, _status = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return False
    except ChildProcessError:
        pass  # not our child: its parent reaps it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def status(cfg: SandboxConfig) -> Dict[str, Any]:
    pid = _read_pid(cfg)
    running = _alive(pid)
    info: Dict[str, Any] = {
        "running": running,
        "pid": pid if running else None,
        "port": cfg.port,
        "socket": cfg.socket,
        "datadir": cfg.datadir,
        "initialized": os.path.isdir(os.path.join(cfg.datadir, "mysql")),
        "version": None,
    }
    if running and os.path.exists(cfg.admin_cnf):
        try:
            conn = connect(cfg.admin_params())
            with conn.cursor() as cur:
                cur.execute("SELECT VERSION()")
                info["version"] = cur.fetchone()[0]
            conn.close()
        except SchemagateError:
            pass
    return info


def start(cfg: SandboxConfig, timeout: float = 60.0) -> Dict[str, Any]:
    """Start the instance (initialising its datadir the first time); no-op if it runs."""
    if status(cfg)["running"]:
        return {"changed": False, **status(cfg)}
    binary = _require_server_binary()
    os.makedirs(cfg.root, mode=0o700, exist_ok=True)
    os.makedirs(cfg.tmpdir, mode=0o700, exist_ok=True)
    fresh = not os.path.isdir(os.path.join(cfg.datadir, "mysql"))
    if fresh:
        _initialize(cfg, binary)
    for stale in (cfg.pid_file, cfg.socket):  # left by a server that died: it is gone
        if os.path.exists(stale):
            os.unlink(stale)
    args = [
        binary,
        "--no-defaults",
        f"--datadir={cfg.datadir}",
        f"--socket={cfg.socket}",
        f"--port={cfg.port}",
        "--bind-address=127.0.0.1",
        f"--pid-file={cfg.pid_file}",
        f"--log-error={cfg.error_log}",
        # Its own temporary directory: several private servers on one machine never share temp files.
        f"--tmpdir={cfg.tmpdir}",
        "--skip-name-resolve",
        f"--innodb-buffer-pool-size={cfg.buffer_pool}",
        "--innodb-log-file-size=256M",
        "--max-connections=200",
        "--character-set-server=utf8mb4",
        "--collation-server=utf8mb4_unicode_ci",
        *server_options(cfg),
        *cfg.extra_args,
    ]
    if os.geteuid() == 0:
        args.append("--user=root")
    with open(os.devnull, "wb") as devnull:
        server = subprocess.Popen(args, stdin=devnull, stdout=devnull, stderr=devnull, start_new_session=True)
    _wait_until_accepting(cfg, server, timeout)
    if fresh or not os.path.exists(cfg.admin_cnf):  # a datadir initialised beforehand (the rehearsal server's)
        _create_admin(cfg)
    return {"changed": True, **status(cfg)}


def server_options(cfg: SandboxConfig) -> List[str]:
    """Binary log and durability options of the instance (see ``SandboxConfig.binlog``/``disposable``)."""
    options: List[str] = []
    if cfg.binlog and not cfg.disposable:
        options += [
            "--log-bin=sg-bin",
            "--binlog-format=ROW",
            "--server-id=1",
            # Production servers that let a deploy account create triggers and routines set this too.
            "--log-bin-trust-function-creators=1",
            "--binlog-expire-logs-seconds=86400",  # a test instance: a day of binary log is plenty
        ]
    else:
        options.append("--skip-log-bin")
    if cfg.disposable:
        options += ["--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0", "--sync-binlog=0"]
    else:
        # A test instance: trade crash durability of the last second for speed.
        options.append("--innodb-flush-log-at-trx-commit=2")
    return options


def _initialize(cfg: SandboxConfig, binary: str) -> None:
    os.makedirs(cfg.datadir, mode=0o700, exist_ok=True)
    install_db = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
    if install_db and "mariadb" in os.path.basename(binary) + os.path.basename(install_db):
        args = [
            install_db,
            "--no-defaults",
            f"--datadir={cfg.datadir}",
            "--auth-root-authentication-method=socket",
            f"--auth-root-socket-user={getpass.getuser()}",
            "--skip-test-db",
        ]
        if os.geteuid() == 0:
            args.append("--user=root")
    else:  # MySQL 8: root@localhost without password, reachable only through our socket
        args = [binary, "--no-defaults", "--initialize-insecure", f"--datadir={cfg.datadir}"]
        if os.geteuid() == 0:
            args.append("--user=root")
    done = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        shutil.rmtree(cfg.datadir, ignore_errors=True)
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise SchemagateError(f"Initialising the sandbox datadir failed: {last[0]}")


def _wait_until_accepting(cfg: SandboxConfig, server: "subprocess.Popen[bytes]", timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SchemagateError(f"The sandbox server exited at start-up: {_last_error(cfg)} (full log: {cfg.error_log}).")
        if _accepting(cfg.socket):
            return
        time.sleep(0.1)  # polling a starting server; there is no event to wait on
    raise SchemagateError(
        f"The sandbox server did not start within {timeout:.0f} s: see {cfg.error_log} "
        f"(is port {cfg.port} free? set SCHEMAGATE_SANDBOX_PORT)."
    )


def _accepting(path: str) -> bool:
    """Whether a server listens on the Unix socket (after crash recovery, not merely started)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(1)
        probe.connect(path)
        return True
    except OSError:
        return False
    finally:
        probe.close()


def _last_error(cfg: SandboxConfig) -> str:
    try:
        with open(cfg.error_log, encoding="utf-8", errors="replace") as handle:
            errors = [line.split("[ERROR]", 1)[1].strip() for line in handle if "[ERROR]" in line]
    except OSError:
        return "no error log"
    errors = [e for e in errors if e != "Aborting"]
    return "; ".join(errors[-2:]) if errors else "no error logged"


def _bootstrap_params(cfg: SandboxConfig) -> ConnectionParams:
    # First contact: root through the socket, authenticated by our OS user (unix_socket plugin).
    user = "root" if os.geteuid() == 0 else getpass.getuser()
    return ConnectionParams(unix_socket=cfg.socket, user=user)


def _create_admin(cfg: SandboxConfig) -> None:
    password = secrets.token_urlsafe(24)
    conn = connect(_bootstrap_params(cfg))
    try:
        with conn.cursor() as cur:
            for host in ("localhost", "127.0.0.1"):
                cur.execute(f"CREATE USER IF NOT EXISTS '{ADMIN_USER}'@'{host}' IDENTIFIED BY %s", (password,))
                cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{ADMIN_USER}'@'{host}' WITH GRANT OPTION")
    finally:
        conn.close()
    write_option_file(cfg.admin_cnf, ADMIN_USER, password, socket=cfg.socket, port=cfg.port)


def write_option_file(
    path: str,
    user: str,
    password: str,
    socket: Optional[str] = None,
    port: Optional[int] = None,
    host: Optional[str] = None,
) -> None:
    """A [client] option file readable by its owner only (the password never goes on argv)."""
    text = render("client", {"user": user, "password": password, "host": host, "socket": socket, "port": port})
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def read_option(path: str, key: str) -> Optional[str]:
    """One option of the file's client groups, read as the client tools read it; None if absent or unreadable."""
    try:
        return read_groups(path).get(key)
    except SchemagateError:
        return None


def stop(cfg: SandboxConfig, timeout: float = 60.0) -> Dict[str, Any]:
    pid = _read_pid(cfg)
    if not _alive(pid):
        return {"changed": False, **status(cfg)}
    os.kill(pid, signal.SIGTERM)  # type: ignore[arg-type]
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)  # waiting for a clean InnoDB shutdown
    if _alive(pid):
        raise SchemagateError(f"The sandbox server (pid {pid}) did not stop within {timeout:.0f} s; see {cfg.error_log}.")
    return {"changed": True, **status(cfg)}


def destroy(cfg: SandboxConfig) -> Dict[str, Any]:
    stopped = stop(cfg)["changed"]
    existed = os.path.isdir(cfg.root)
    shutil.rmtree(cfg.root, ignore_errors=True)
    return {"changed": stopped or existed, "running": False}


def ensure_production(
    cfg: SandboxConfig,
    database: str,
    base_schema_file: str,
    scale: SampleScale = SampleScale(),
    reset: bool = False,
) -> Dict[str, Any]:
    """Create the sandbox's "production" database with base tables, sample data and the deploy account."""
    quoted = quote_identifier(database, "database name")
    if not status(cfg)["running"]:
        raise SchemagateError("The sandbox server is not running: start it first (./run sandbox start).")
    with open(base_schema_file, encoding="utf-8") as handle:
        statements = split_statements(handle.read(), base_schema_file)
    conn = connect(cfg.admin_params())
    result: Dict[str, Any] = {"changed": False, "database": database, "seeded": None}
    try:
        with conn.cursor() as cur:
            exists = database_exists(conn, database)
            if exists and reset:
                cur.execute(f"DROP DATABASE {quoted}")
                exists = False
            if not exists:
                cur.execute(f"CREATE DATABASE {quoted} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
                cur.execute(f"USE {quoted}")
                for statement in statements:
                    cur.execute(statement.sql)
                report = seed_base_data(conn, scale)
                result["changed"] = True
                result["seeded"] = {
                    "rows": report.rows,
                    "total_rows": report.total_rows,
                    "seconds": round(report.seconds, 3),
                    "rows_per_second": round(report.rows_per_second),
                }
        result["changed"] = _ensure_deploy_account(cfg, conn, database) or result["changed"]
    except MySQLError as exc:
        raise SchemagateError(f"Setting up sandbox database {database!r} failed: {error_text(exc)}") from None
    finally:
        conn.close()
    result["deploy_config_file"] = cfg.deploy_cnf
    return result


def scratch_pattern(database: str) -> str:
    """LIKE pattern of the scratch databases schemagate may create for ``database``."""
    return database.replace("_", "\\_") + "\\_sg\\_%"


def _ensure_deploy_account(cfg: SandboxConfig, conn: Any, database: str) -> bool:
    password = read_option(cfg.deploy_cnf, "password")
    created = password is None
    if created:
        password = secrets.token_urlsafe(24)
    grants: List[str] = [
        f"GRANT {DEPLOY_DATABASE_PRIVILEGES} ON {quote_identifier(database)}.* TO '{DEPLOY_USER}'@'{{host}}'",
        f"GRANT ALL PRIVILEGES ON `{scratch_pattern(database)}`.* TO '{DEPLOY_USER}'@'{{host}}'",
        f"GRANT {DEPLOY_GLOBAL_PRIVILEGES} ON *.* TO '{DEPLOY_USER}'@'{{host}}'",
    ]
    with conn.cursor() as cur:
        for host in ("localhost", "127.0.0.1"):
            cur.execute(f"CREATE USER IF NOT EXISTS '{DEPLOY_USER}'@'{host}' IDENTIFIED BY %s", (password,))
            cur.execute(f"ALTER USER '{DEPLOY_USER}'@'{host}' IDENTIFIED BY %s", (password,))
            for grant in grants:
                cur.execute(grant.format(host=host))
    if created:
        write_option_file(cfg.deploy_cnf, DEPLOY_USER, password, host="127.0.0.1", port=cfg.port)  # type: ignore[arg-type]
    return created


# The gate's embedded rehearsal server: a disposable instance reachable through its socket only,
# watched by a process that stops it and deletes its directory once the controller is gone.
REHEARSAL_PREFIX = "sg-rehearsal-"
KEEP_FILE = "keep"  # present: the watchdog leaves the server running (gate_keep_scratch)
WATCHDOG_PID_FILE = "watchdog.pid"

_WATCHDOG = r'''
import os, shutil, signal, sys, time
watched, server, root = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            if handle.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                return False
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
while alive(watched) and alive(server) and os.path.isdir(root):
    time.sleep(0.5)
if os.path.exists(os.path.join(root, "keep")):
    sys.exit(0)
if alive(server):
    os.kill(server, signal.SIGTERM)
    for _ in range(600):
        if not alive(server):
            break
        time.sleep(0.1)
    if alive(server):
        os.kill(server, signal.SIGKILL)
shutil.rmtree(root, ignore_errors=True)
'''


def rehearsal_config(root: str, buffer_pool: str = "256M") -> SandboxConfig:
    # A redo log as large as the buffer pool: a restore of production's backup (deploy.yml) loads hundreds
    # of MB at once, and a small log makes InnoDB flush pages at every checkpoint (at 532 MB: 22 s with
    # 256M/64M against 19 s with 1G/1G, and the comparison after it 6.0 s against 1.3 s).
    return SandboxConfig(
        root=root, port=0, buffer_pool=buffer_pool, binlog=False, disposable=True,
        extra_args=("--skip-networking", f"--innodb-log-file-size={buffer_pool}"),
    )


def controller_pid() -> Optional[int]:
    """The ansible-playbook process this module runs under (Linux /proc), or None.

    The outermost one: Ansible's per-task workers are forks of it with the same command line, and end with the task.
    """
    pid, found = os.getppid(), None
    while pid > 1:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                argv = handle.read().split(b"\0")
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
                parent = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return found
        if any(os.path.basename(arg.decode(errors="replace")) == "ansible-playbook" for arg in argv[:3]):
            found = pid
        pid = parent
    return found


def start_rehearsal(watch_pid: int, parent_dir: Optional[str] = None, buffer_pool: str = "256M") -> Dict[str, Any]:
    """Start a throwaway rehearsal server in a new 0700 directory; it goes away when ``watch_pid`` does."""
    if not _alive(watch_pid):
        raise SchemagateError(f"The process to watch (pid {watch_pid}) is not running: nothing would stop the rehearsal server.")
    root = tempfile.mkdtemp(prefix=REHEARSAL_PREFIX, dir=parent_dir)
    os.chmod(root, 0o700)
    cfg = rehearsal_config(root, buffer_pool)
    try:
        started = time.monotonic()
        _initialize_one_at_a_time(cfg, parent_dir or tempfile.gettempdir())
        start(cfg, timeout=180.0)  # many hosts' servers may start side by side on a busy controller
        server_pid = _read_pid(cfg)
        with open(os.devnull, "wb") as devnull:
            watchdog = subprocess.Popen(
                [sys.executable, "-c", _WATCHDOG, str(watch_pid), str(server_pid), root],
                stdin=devnull, stdout=devnull, stderr=devnull, start_new_session=True, close_fds=True,
            )
        with open(os.path.join(root, WATCHDOG_PID_FILE), "w", encoding="ascii") as handle:
            handle.write(str(watchdog.pid))
    except (SchemagateError, OSError) as exc:
        destroy(cfg)
        raise SchemagateError(f"Starting the rehearsal server failed: {exc}") from None
    return {
        "path": root,
        "socket": cfg.socket,
        "config_file": cfg.admin_cnf,
        "pid": server_pid,
        "watchdog_pid": watchdog.pid,
        "watching": watch_pid,
        "seconds": round(time.monotonic() - started, 3),
    }


def _initialize_one_at_a_time(cfg: SandboxConfig, lock_dir: str) -> None:
    """Initialise the datadir; several hosts' rehearsal servers take turns (concurrent bootstraps crash)."""
    binary = _require_server_binary()
    lock_path = os.path.join(lock_dir, f"sg-rehearsal.{os.geteuid()}.lock")
    fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            _initialize(cfg, binary)
        except SchemagateError:  # once more: a bootstrap on a loaded machine may fail for no reason of ours
            _initialize(cfg, binary)
    finally:
        os.close(fd)  # releases the lock


def stop_rehearsal(root: str, keep: bool = False) -> Dict[str, Any]:
    """Tear the rehearsal server down (or, with ``keep``, tell its watchdog to leave it running)."""
    if not os.path.basename(root.rstrip("/")).startswith(REHEARSAL_PREFIX):
        raise SchemagateError(f"Refusing to remove {root!r}: not a rehearsal server's directory ({REHEARSAL_PREFIX}*).")
    if not os.path.isdir(root):
        return {"changed": False, "path": root, "running": False}
    cfg = rehearsal_config(root)
    if keep:
        with open(os.path.join(root, KEEP_FILE), "w", encoding="ascii") as handle:
            handle.write("kept by gate_keep_scratch\n")
        return {"changed": False, "path": root, "running": status(cfg)["running"], "kept": True}
    destroy(cfg)
    return {"changed": True, "path": root, "running": False}


def attach_rehearsal(root: str) -> Dict[str, Any]:
    """A rehearsal server started earlier (by another host of the same fleet batch): where to reach it."""
    if not os.path.basename(root.rstrip("/")).startswith(REHEARSAL_PREFIX):
        raise SchemagateError(f"Refusing {root!r}: not a rehearsal server's directory ({REHEARSAL_PREFIX}*).")
    cfg = rehearsal_config(root)
    if not os.path.isdir(root) or not _alive(_read_pid(cfg)):
        raise SchemagateError(f"The shared rehearsal server {root} is not running (stopped, or its controller is gone).")
    return {"path": root, "socket": cfg.socket, "config_file": cfg.admin_cnf, "pid": _read_pid(cfg), "seconds": 0.0}
