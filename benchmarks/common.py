"""What the benchmarks share: the running sandbox, its accounts, and production-sized databases."""
from __future__ import annotations

import os
import resource
import sys
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
