"""What the benchmarks share: the running sandbox, its accounts, and production-sized databases."""
from __future__ import annotations

import os
import resource
import sys
import threading
import time
from typing import Any, Callable, Tuple

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from plugins.module_utils.sandbox import sandbox  # noqa: E402
from plugins.module_utils.core.connection import ConnectionParams, connect  # noqa: E402
from plugins.module_utils.sandbox.sample_data import SampleScale  # noqa: E402

BASE_SCHEMA_SQL = os.path.join(REPO, "sql", "base_schema.sql")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


def sandbox_config() -> sandbox.SandboxConfig:
    """The sandbox ./run uses (SCHEMAGATE_SANDBOX_DIR / SCHEMAGATE_SANDBOX_PORT honoured)."""
    root = os.environ.get("SCHEMAGATE_SANDBOX_DIR", os.path.join(REPO, ".sandbox"))
    return sandbox.SandboxConfig(root=os.path.abspath(root), port=int(os.environ.get("SCHEMAGATE_SANDBOX_PORT", "3417")))


def start_sandbox() -> Tuple[sandbox.SandboxConfig, Any]:
    """Start (or find) the sandbox; return its config and an admin connection."""
    cfg = sandbox_config()
    sandbox.start(cfg)
    return cfg, connect(cfg.admin_params())


def deploy_params(cfg: sandbox.SandboxConfig) -> ConnectionParams:
    """The deploy account's parameters, read from its 0600 option file (never argv)."""
    def option(key: str) -> str:
        return sandbox.read_option(cfg.deploy_cnf, key) or ""

    return ConnectionParams(user=option("user"), password=option("password"), host=option("host"), port=int(option("port")))


def build_production(cfg: sandbox.SandboxConfig, database: str, scale: float) -> int:
    """(Re)create ``database`` with the base tables and sample data at ``scale``; return its row count."""
    made = sandbox.ensure_production(cfg, database, BASE_SCHEMA_SQL, SampleScale.scaled(scale), reset=True)
    return int(made["seeded"]["total_rows"])


def size_mb(admin: Any, database: str) -> float:
    """Data plus index size of ``database`` as InnoDB reports it."""
    with admin.cursor() as cur:
        cur.execute("SELECT COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (database,))
        return float(cur.fetchone()[0]) / 2**20


def ansible_environment() -> dict:
    return dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                PATH=f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}")


def server_cpu(cfg: sandbox.SandboxConfig) -> float:
    """CPU seconds the sandbox server has used (all sessions: a shared server also counts its neighbours)."""
    with open(cfg.pid_file, encoding="ascii") as handle:
        pid = int(handle.read().strip())
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def timed(cfg: sandbox.SandboxConfig, action: Callable[[], Any], *others: sandbox.SandboxConfig) -> Tuple[float, float]:
    """(wall seconds, CPU seconds of server + tools + this process) of ``action``; ``others``: more servers counted."""
    servers = (cfg, *others)
    started, server_before, own_before = time.perf_counter(), sum(map(server_cpu, servers)), own_cpu()
    action()
    return time.perf_counter() - started, sum(map(server_cpu, servers)) - server_before + own_cpu() - own_before


class RehearsalServersCpu:
    """CPU seconds of the embedded rehearsal servers started while it runs (they are not our children).

    A thread reads /proc/<pid>/stat of every mariadbd/mysqld whose command line names a rehearsal
    directory, every 0.2 s, and keeps each one's last figure: a server's last 0.2 s before it exits are lost.
    Servers already running when it starts count from then on; on a shared machine another run's servers
    started meanwhile count too.
    """

    def __init__(self) -> None:
        self.seen: dict = {}
        self._before: dict = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> "RehearsalServersCpu":
        self._before = self._read()
        self._thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def seconds(self) -> float:
        return sum(value - self._before.get(pid, 0.0) for pid, value in self.seen.items())

    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            self.seen.update(self._read())

    @staticmethod
    def _read() -> dict:
        tick, found = os.sysconf("SC_CLK_TCK"), {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    cmdline = handle.read()
                if sandbox.REHEARSAL_PREFIX.encode() not in cmdline or b"--datadir" not in cmdline:
                    continue
                with open(f"/proc/{entry}/stat", encoding="ascii") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            found[entry] = (int(fields[11]) + int(fields[12])) / tick
        return found
